"""``aftersales setup``: start for real, with a dealer group, its first store and its first administrator.

Asks for each value in a terminal; otherwise (or with ``--no-input``) takes them from flags or the environment:
AFTERSALES_SETUP_GROUP, AFTERSALES_SETUP_STORE_CODE, AFTERSALES_SETUP_STORE_NAME, AFTERSALES_SETUP_TIME_ZONE,
AFTERSALES_SETUP_ADMIN_USER, AFTERSALES_SETUP_ADMIN_PASSWORD. Every bad value is reported at once and nothing is
written; a dealer group of the same name is never set up twice.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.common.errors import ValidationFailed
from aftersales.staff.services import DEFAULT_TIME_ZONE, first_install

FIELDS: list[tuple[str, str, Any, str]] = [  # (option, environment variable, prompt, default)
    ("group", "AFTERSALES_SETUP_GROUP", gettext_lazy("Dealer group name"), ""),
    ("store_code", "AFTERSALES_SETUP_STORE_CODE", gettext_lazy("First store: short code (e.g. gz)"), ""),
    ("store_name", "AFTERSALES_SETUP_STORE_NAME", gettext_lazy("First store: name"), ""),
    ("time_zone", "AFTERSALES_SETUP_TIME_ZONE", gettext_lazy("First store: time zone"), DEFAULT_TIME_ZONE),
    ("admin_user", "AFTERSALES_SETUP_ADMIN_USER", gettext_lazy("Administrator: user name"), ""),
    ("admin_password", "AFTERSALES_SETUP_ADMIN_PASSWORD", gettext_lazy("Administrator: password"), ""),
]


class Command(BaseCommand):
    help = (
        "Create your dealer group, its first store and its first administrator (the way a shop starts for real). "
        "Values from prompts, flags or AFTERSALES_SETUP_* environment variables."
    )

    def add_arguments(self, parser: Any) -> None:
        for option, env, prompt, _default in FIELDS:
            parser.add_argument(f"--{option.replace('_', '-')}", dest=option, default=None,
                                help=f"{prompt} (or {env})")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                            help="Never prompt: take missing values from the environment.")

    def handle(self, *args: Any, **options: Any) -> None:
        interactive = options["interactive"] and sys.stdin.isatty()
        values: dict[str, str] = {}
        for option, env, prompt, default in FIELDS:
            value = options.get(option)
            if value is None:
                value = os.environ.get(env)
            if value is None and interactive:
                value = self._ask(prompt, default, secret=option == "admin_password")
            values[option] = value if value is not None else default
        try:
            group, store, user = first_install(
                group_name=values["group"], store_code=values["store_code"], store_name=values["store_name"],
                time_zone=values["time_zone"], admin_username=values["admin_user"],
                admin_password=values["admin_password"],
            )
        except ValidationFailed as exc:
            lines = [f"  --{str(e['field']).replace('_', '-')}: {e['message']}"  # the flag the operator can use
                     for e in exc.extra.get("errors", [exc.as_dict()])]
            raise CommandError(_("Nothing was set up:") + "\n" + "\n".join(lines)) from exc
        self.stdout.write(self.style.SUCCESS(
            _("Set up “%(group)s” with the store “%(store)s” (%(code)s, %(zone)s) and the administrator “%(user)s” "
              "(group admin).") % {"group": group.name, "store": store.name, "code": store.code,
                                   "zone": store.time_zone, "user": user.username}
        ))
        self.stdout.write(_(
            "Sign in with that user, then add staff, stores and opening hours under /admin/. "
            "Start without the demo data: aftersales run --no-demo (or AFTERSALES_DEMO=0)."
        ))

    def _ask(self, prompt: str, default: str, *, secret: bool) -> str:
        label = f"{prompt} [{default}]: " if default else f"{prompt}: "
        if secret:
            while True:
                first = getpass.getpass(label)
                if first == getpass.getpass(_("Administrator: password again") + ": "):
                    return first
                self.stderr.write(_("The two passwords differ; try again."))
        return input(label).strip() or default
