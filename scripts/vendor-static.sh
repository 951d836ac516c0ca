#!/usr/bin/env bash
# Browser libraries that come from npm (ECharts for the cockpit's charts): installed at install time from the
# locked package.json in aftersales/analytics/vendor and copied into the app's static files (never committed,
# never loaded from a CDN). Run by `make install`; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/../aftersales/analytics/vendor"
target=../static/analytics/vendor
if [ -f "$target/echarts.min.js" ] && [ "$target/echarts.min.js" -nt package-lock.json ]; then exit 0; fi
npm ci --no-audit --no-fund --omit=dev --silent
mkdir -p "$target"
cp node_modules/echarts/dist/echarts.min.js "$target/echarts.min.js"
cp node_modules/echarts/LICENSE "$target/echarts.LICENSE.txt"
