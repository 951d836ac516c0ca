"""Factories shared by every app's tests: a dealer group, stores, staff per role, customers, vehicles."""

from __future__ import annotations

import itertools
import random
from typing import Any

import factory
from django.contrib.auth.models import Group

from aftersales.common.validators import VIN_ALPHABET, mobile_digits, vin_check_digit
from aftersales.customers.models import Customer, CustomerStore
from aftersales.staff.models import StoreMembership, User
from aftersales.stores.models import DealerGroup, Store
from aftersales.vehicles.models import Vehicle, VehicleOwnership

_seq = itertools.count(1)
_VIN_BODY = VIN_ALPHABET.replace("I", "").replace("O", "").replace("Q", "")


def make_vin(rng: random.Random | None = None) -> str:
    rng = rng or random.Random(next(_seq))
    chars = [rng.choice(_VIN_BODY) for _ in range(17)]
    chars[8] = "0"
    vin = "".join(chars)
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def make_mobile(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    return f"+86138{n % 100_000_000:08d}"


def make_plate(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    return f"粤B{n % 100000:05d}"


class DealerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealerGroup
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Test Group {n}")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    group = factory.SubFactory(DealerGroupFactory)
    code = factory.Sequence(lambda n: f"s{n}")
    name = factory.Sequence(lambda n: f"Store {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"Staff {n}")
    language = "en"
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def role(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))

    @factory.post_generation
    def stores(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        for i, store in enumerate(extracted or []):
            StoreMembership.objects.create(user=self, store=store, is_primary=i == 0)
            if self.dealer_group_id is None:
                self.dealer_group_id = store.group_id
                self.save(update_fields=["dealer_group"])


def make_staff(role: str, *stores: Store, **kwargs: Any) -> User:
    user = UserFactory(role=role, stores=list(stores), dealer_group=stores[0].group if stores else None, **kwargs)
    return User.objects.get(pk=user.pk)  # fresh object: no cached permissions


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    group = factory.LazyAttribute(lambda o: o.home_store.group)
    home_store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"客户{n}")
    mobile = factory.LazyFunction(make_mobile)
    mobile_digits = factory.LazyAttribute(lambda o: mobile_digits(o.mobile))

    @factory.post_generation
    def link(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        CustomerStore.objects.get_or_create(customer=self, store=self.home_store)


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle
        skip_postgeneration_save = True

    owner = factory.SubFactory(CustomerFactory)
    group = factory.LazyAttribute(lambda o: o.owner.group)
    vin = factory.LazyFunction(make_vin)
    plate = factory.LazyFunction(make_plate)
    make = "Toyota"
    model = "Camry"
    year = 2021

    @factory.post_generation
    def ownership(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        import datetime as dt

        VehicleOwnership.objects.create(vehicle=self, customer=self.owner, started_on=dt.date(2021, 1, 1))
