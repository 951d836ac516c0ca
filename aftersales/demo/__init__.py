"""The demo data set, at the top of the layers (issue 19): ``loader.py`` builds the dealer group, stores, staff,
customers and a year of visits and calls each app's own ``demo.py``; ``aftersales load_demo`` runs it."""
