"""Customer-visible progress generated from the work itself (SPEC §6): the car in a bay, a job started and finished
by its technician, a job through the quality check. One wording for the status page and the progress messages."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import override

from .choices import JobStatus

#: the job moves the customer hears about (the status page shows them at once; messages go out for these)
WORK_UPDATE_STATES = (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.PASSED_QC)
MESSAGE_STATES = (JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.PASSED_QC)


def public_staff_name(user: Any, language: str) -> str:
    """How a technician is named to the customer: 刘师傅 in Chinese (surname + 师傅, as customers address them),
    the first name in English; never the full name or the login."""
    if user is None:
        return ""
    if language != "en":
        surname = user.last_name or (user.display_name or "")[:1]
        return f"{surname}师傅" if surname else ""
    return user.first_name or (user.display_name or "").split(" ")[0]


def work_update_text(*, title: str, to_state: str, technician: Any, bay_name: str, language: str) -> str:
    """The sentence for one job move, in ``language``; "" when there is nothing to tell (dispatched without a bay)."""
    tech = public_staff_name(technician, language)
    with override(language):
        if to_state == JobStatus.DISPATCHED:
            return _("%(job)s: your car is in bay %(bay)s") % {"job": title, "bay": bay_name} if bay_name else ""
        if to_state == JobStatus.IN_PROGRESS:
            if tech:
                return _("%(job)s: %(tech)s started the work") % {"job": title, "tech": tech}
            return _("%(job)s: work started") % {"job": title}
        if to_state == JobStatus.DONE:
            if tech:
                return _("%(job)s: %(tech)s finished the work; quality check next") % {"job": title, "tech": tech}
            return _("%(job)s: work finished; quality check next") % {"job": title}
        if to_state == JobStatus.PASSED_QC:
            return _("%(job)s: passed the quality check") % {"job": title}
    return ""
