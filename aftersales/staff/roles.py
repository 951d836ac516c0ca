"""Roles are Django groups with permissions, declared here and synced after every migrate."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _


class Role:
    SERVICE_ADVISOR = "service_advisor"
    TECHNICIAN = "technician"
    FOREMAN = "foreman"
    QC_INSPECTOR = "qc_inspector"
    PARTS_CLERK = "parts_clerk"
    CASHIER = "cashier"
    CALL_CENTRE = "call_centre_agent"
    STORE_MANAGER = "store_manager"
    GROUP_ADMIN = "group_admin"
    DRIVER = "driver"


ROLE_LABELS = {
    Role.SERVICE_ADVISOR: _("Service advisor"),
    Role.TECHNICIAN: _("Technician"),
    Role.FOREMAN: _("Foreman"),
    Role.QC_INSPECTOR: _("QC inspector"),
    Role.PARTS_CLERK: _("Parts clerk"),
    Role.CASHIER: _("Cashier"),
    Role.CALL_CENTRE: _("Call-centre agent"),
    Role.STORE_MANAGER: _("Store manager"),
    Role.GROUP_ADMIN: _("Group admin"),
    Role.DRIVER: _("Pickup driver"),
}

_VIEW_BASICS = [
    "stores.view_store",
    "staff.view_user",
    "customers.view_customer",
    "vehicles.view_vehicle",
    "vehicles.view_mileagereading",
    "workshop.view_repairorder",
]
_CUSTOMER_CARE = [
    "customers.add_customer",
    "customers.change_customer",
    "customers.view_full_mobile",
    "customers.add_consent",
    "vehicles.add_vehicle",
    "vehicles.change_vehicle",
    "vehicles.add_mileagereading",
]

_PARTS_VIEW = ["parts.view_part", "parts.view_stockitem", "parts.view_transfer"]
_PARTS_CLERK = [
    "portal.view_shoporder", "portal.change_shoporder",  # the owner app's accessories orders (portal/shop.py)
    *_PARTS_VIEW, "parts.add_part", "parts.change_part", "parts.view_stockmovement", "parts.add_stockmovement",
    "parts.change_stockitem", "parts.view_supplier", "parts.add_supplier", "parts.change_supplier",
    "parts.view_purchaserequisition", "parts.add_purchaserequisition", "parts.change_purchaserequisition",
    "parts.view_purchaseorder", "parts.add_purchaseorder", "parts.change_purchaseorder", "parts.add_transfer",
    "parts.change_transfer", "parts.view_reservation", "parts.view_batch", "parts.view_adjustmentrequest",
    "parts.view_stocktake", "parts.add_stocktake", "parts.change_stocktake",
]

_APPOINTMENTS_VIEW = ["appointments.view_appointment", "appointments.view_servicetype", "appointments.view_bay",
                      "appointments.view_cannedjob"]
_APPOINTMENTS_BOOK = [*_APPOINTMENTS_VIEW, "appointments.add_appointment", "appointments.change_appointment"]
_RECEPTION = ["reception.view_handover", "reception.add_handover", "reception.change_handover"]
_APPOINTMENTS_MANAGE = [
    *_APPOINTMENTS_BOOK, "appointments.delete_appointment", "appointments.view_appointmentevent",
    "appointments.add_servicetype", "appointments.change_servicetype", "appointments.delete_servicetype",
    "appointments.add_cannedjob", "appointments.change_cannedjob", "appointments.delete_cannedjob",
    "appointments.view_cannedjobpart", "appointments.add_cannedjobpart", "appointments.change_cannedjobpart",
    "appointments.delete_cannedjobpart", "appointments.add_bay", "appointments.change_bay", "appointments.delete_bay",
    "appointments.view_technicianshift", "appointments.add_technicianshift", "appointments.change_technicianshift",
    "appointments.delete_technicianshift", "appointments.view_appointmentpartshortage",
]
# estimates: the labour guide (read by those who price or do the work; kept by the manager), additional work
_ESTIMATES_WORK = ["estimates.view_labouroperation", "estimates.view_labourrate", "estimates.propose_additional_work"]
_ESTIMATES_MANAGE = ["estimates.add_labouroperation", "estimates.change_labouroperation", "estimates.change_labourrate",
                     "estimates.add_labourrate"]

_ENGAGEMENT_VIEW = ["engagement.view_customertier", "engagement.view_tierchange", "engagement.view_segment",
                    "engagement.view_dedicatedadvisor"]
_ENGAGEMENT_MANAGE = [
    *_ENGAGEMENT_VIEW, "engagement.add_segment", "engagement.change_segment", "engagement.delete_segment",
    "engagement.export_segment", "engagement.view_tiersettings", "engagement.change_tiersettings",
    "engagement.change_customertier", "engagement.add_dedicatedadvisor", "engagement.change_dedicatedadvisor",
    "engagement.view_importjob", "engagement.add_importjob", "engagement.run_import", "engagement.view_importedvisit",
]
_LOYALTY_VIEW = ["loyalty.view_pointsentry", "loyalty.view_voucher", "loyalty.view_vouchertemplate", "loyalty.view_referral",
                 "loyalty.view_gift"]
_LOYALTY_FRONT = [*_LOYALTY_VIEW, "loyalty.add_pointsentry", "loyalty.redeem_points", "loyalty.change_voucher",
                  "loyalty.add_referral"]
_LOYALTY_MANAGE = [*_LOYALTY_FRONT, "loyalty.adjust_points", "loyalty.add_voucher", "loyalty.add_giftredemption",
                   "loyalty.add_gift", "loyalty.change_gift", "loyalty.add_vouchertemplate",
                   "loyalty.change_vouchertemplate", "loyalty.change_loyaltysettings"]
_FEEDBACK_HANDLE = ["feedback.view_feedbackcase", "feedback.add_feedbackcase", "feedback.change_feedbackcase", "feedback.view_followup"]
_FEEDBACK_MANAGE = [
    *_FEEDBACK_HANDLE, "feedback.change_followup", "feedback.pause_sla", "feedback.view_feedback_report",
    "feedback.view_improvementaction", "feedback.add_improvementaction", "feedback.change_improvementaction",
    "feedback.view_routingrule", "feedback.add_routingrule", "feedback.change_routingrule", "feedback.view_labelcorrection",
]
_CARE_CALENDAR = ["care.view_reminder", "care.change_reminder"]
_CARE_MANAGE = [*_CARE_CALENDAR, "care.view_playbook", "care.add_playbook", "care.change_playbook", "care.view_enrolment",
                "care.view_caresettings", "care.change_caresettings", "care.view_maintenanceplan",
                "care.add_maintenanceplan", "care.change_maintenanceplan", "care.delete_maintenanceplan"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SERVICE_ADVISOR: [
        *_VIEW_BASICS, *_CUSTOMER_CARE, "vehicles.transfer_vehicle", "workshop.add_repairorder",
        "workshop.change_repairorder", "billing.view_invoice", "messaging.view_message", *_PARTS_VIEW,
        "workshop.change_repairjob", "parts.add_transfer", "parts.view_reservation", *_APPOINTMENTS_BOOK,
        "billing.add_invoice",
        *_RECEPTION, *_ENGAGEMENT_VIEW,
        *_LOYALTY_FRONT,
        *_FEEDBACK_HANDLE,
        *_CARE_CALENDAR,
        *_ESTIMATES_WORK,
    ],
    Role.TECHNICIAN: [*_VIEW_BASICS, "vehicles.add_mileagereading", "parts.view_part", *_APPOINTMENTS_VIEW,
                      "workshop.change_repairjob", "workshop.clock_repairjob", *_ESTIMATES_WORK],
    Role.FOREMAN: [*_VIEW_BASICS, "vehicles.add_mileagereading", "workshop.change_repairorder", *_PARTS_VIEW,
                   "workshop.change_repairjob", "reception.view_handover",
                   "parts.view_reservation", *_APPOINTMENTS_VIEW, "appointments.view_appointmentpartshortage",
                   "workshop.dispatch_repairjob", "workshop.clock_repairjob",
                   *_ESTIMATES_WORK],
    Role.QC_INSPECTOR: [*_VIEW_BASICS, "workshop.change_repairjob"],
    Role.PARTS_CLERK: [*_VIEW_BASICS, *_PARTS_CLERK],
    Role.CASHIER: [*_VIEW_BASICS, "billing.view_invoice", "billing.add_payment", "billing.add_invoice", "billing.add_refund",
                   "portal.view_shoporder"],  # sees the app's accessories orders, to cancel a paid one with its refund
    Role.CALL_CENTRE: [
        # phone booking is the call centre's core task: a new caller and their car are created while booking
        *_VIEW_BASICS, "customers.add_customer", "customers.change_customer", "customers.view_full_mobile",
        "customers.add_consent", "vehicles.add_vehicle", "messaging.view_message", "messaging.view_phonetask", "messaging.change_phonetask", *_APPOINTMENTS_BOOK,
        *_ENGAGEMENT_VIEW,
        *_LOYALTY_VIEW,
        "feedback.view_followup", "feedback.change_followup", "feedback.view_feedbackcase", "feedback.add_feedbackcase",
        *_CARE_CALENDAR,
    ],
    Role.STORE_MANAGER: [
        *_VIEW_BASICS, *_CUSTOMER_CARE, "vehicles.transfer_vehicle", "vehicles.correct_mileage",
        "customers.export_customer", "customers.view_incomplete", "common.view_auditevent",
        "staff.manage_api_tokens", "workshop.add_repairorder", "workshop.change_repairorder",
        "workshop.change_repairjob", "billing.view_invoice", "billing.add_payment", "stores.change_store",
        "messaging.view_message", "messaging.change_message", "messaging.view_messagetemplate",
        "messaging.change_messagetemplate", "messaging.view_phonetask", "messaging.change_phonetask",
        "messaging.change_channelsettings", "common.view_taskrun", "common.change_taskrun",
        *_PARTS_CLERK, "parts.approve_adjustment", "parts.change_adjustmentrequest", *_APPOINTMENTS_MANAGE,
        "billing.add_invoice", "billing.add_refund", "billing.approve_refund", "billing.add_creditnote",
        "billing.add_deliverycredit", "billing.change_merchantaccount", "portal.handle_deletionrequest",
        *_RECEPTION,
        *_ENGAGEMENT_MANAGE,
        *_LOYALTY_MANAGE,
        *_FEEDBACK_MANAGE,
        *_CARE_MANAGE,
        "workshop.dispatch_repairjob", "workshop.clock_repairjob",
        *_ESTIMATES_WORK, *_ESTIMATES_MANAGE,
    ],
}
# Inspections and quality control (aftersales/inspections). The QC inspector moves the order (quality check →
# ready, or back to in progress when a check fails), so the role also holds workshop.change_repairorder.
_INSPECTIONS_VIEW = ["inspections.view_inspection", "inspections.view_checklist", "inspections.view_qccheck"]
for _role, _perms in {
    Role.SERVICE_ADVISOR: ["inspections.add_inspection", "inspections.send_report", "inspections.sign_cleaning"],
    Role.TECHNICIAN: ["inspections.change_inspection", "inspections.sign_self_check", "inspections.sign_peer_check"],
    Role.FOREMAN: ["inspections.add_inspection", "inspections.change_inspection", "inspections.send_report",
                   "inspections.sign_self_check", "inspections.sign_peer_check", "inspections.sign_cleaning"],
    Role.QC_INSPECTOR: ["inspections.sign_final_qc", "inspections.sign_cleaning", "workshop.change_repairorder"],
    Role.CALL_CENTRE: [],
    Role.STORE_MANAGER: ["inspections.add_inspection", "inspections.change_inspection", "inspections.send_report",
                         "inspections.sign_cleaning", "inspections.add_checklist", "inspections.change_checklist",
                         "inspections.delete_checklist"],
}.items():
    ROLE_PERMISSIONS[_role] += [*_INSPECTIONS_VIEW, *_perms]
# The manager's cockpit (aftersales/analytics): KPIs against targets, the targets, the imported gross profit.
ROLE_PERMISSIONS[Role.STORE_MANAGER] += ["analytics.view_dashboard", "analytics.view_kpisettings", "analytics.change_kpisettings",
                                         "analytics.view_grossprofitmonth", "analytics.add_grossprofitmonth"]
# Roadside rescue (aftersales/rescue): dispatchers (advisors, call centre, foremen, managers) take calls and send
# units; technicians work jobs as crew; the manager keeps the units and the store's rescue settings.
_RESCUE_DISPATCH = ["rescue.view_rescuecase", "rescue.add_rescuecase", "rescue.dispatch_rescuecase", "rescue.view_rescueunit"]
for _role in (Role.SERVICE_ADVISOR, Role.CALL_CENTRE, Role.FOREMAN, Role.STORE_MANAGER):
    ROLE_PERMISSIONS[_role] += _RESCUE_DISPATCH
ROLE_PERMISSIONS[Role.TECHNICIAN] += ["rescue.view_rescuecase", "rescue.crew_rescuecase"]
ROLE_PERMISSIONS[Role.STORE_MANAGER] += ["rescue.add_rescueunit", "rescue.change_rescueunit", "rescue.change_rescuearea",
                                         "rescue.view_rescuearea"]
# Damage assessment (aftersales/assessments): advisors and managers assess and approve (the approval opens the repair
# order); technicians (rescue crews) take photos; the manager keeps the rule table and the store's baseline.
_ASSESS = ["assessments.view_assessment", "assessments.add_assessment", "assessments.change_assessment",
           "assessments.add_assessmentphoto", "assessments.approve_assessment", "assessments.view_damagerule"]
ROLE_PERMISSIONS[Role.SERVICE_ADVISOR] += _ASSESS
ROLE_PERMISSIONS[Role.STORE_MANAGER] += [*_ASSESS, "assessments.change_damagerule", "assessments.add_damagerule",
                                         "assessments.view_assessmentsettings", "assessments.change_assessmentsettings"]
ROLE_PERMISSIONS[Role.TECHNICIAN] += ["assessments.view_assessment", "assessments.add_assessmentphoto"]
# A store's manager may make a group customer known at the store without the customer's code (phoned in), audited.
ROLE_PERMISSIONS[Role.STORE_MANAGER] += ["customers.approve_attach"]
# Connected vehicles (aftersales/telematics): advisors see devices, readings and alerts and close alerts; the manager
# registers devices, rotates and revokes their keys and tunes the alert rules.
_TELEMATICS_VIEW = ["telematics.view_device", "telematics.view_reading", "telematics.view_alert", "telematics.view_alertrule"]
ROLE_PERMISSIONS[Role.SERVICE_ADVISOR] += [*_TELEMATICS_VIEW, "telematics.change_alert"]
ROLE_PERMISSIONS[Role.CALL_CENTRE] += ["telematics.view_alert"]
ROLE_PERMISSIONS[Role.STORE_MANAGER] += [*_TELEMATICS_VIEW, "telematics.change_alert", "telematics.add_device",
                                         "telematics.change_device", "telematics.change_alertrule"]
# Photos with the customer's description of the fault (estimates.FaultPhoto): taken at the counter or by phone.
for _role in (Role.SERVICE_ADVISOR, Role.CALL_CENTRE, Role.STORE_MANAGER):
    ROLE_PERMISSIONS[_role] += ["estimates.add_faultphoto"]
# People (aftersales/people, SPEC §20): the foreman keeps the certificates; the manager also overrides dispatch.
ROLE_PERMISSIONS[Role.FOREMAN] += ["staff.view_certification", "staff.add_certification", "staff.change_certification"]
ROLE_PERMISSIONS[Role.STORE_MANAGER] += ["staff.view_certification", "staff.add_certification",
                                         "staff.change_certification", "staff.override_certification",
                                         "people.view_ratingterminal", "people.add_ratingterminal",
                                         "people.change_ratingterminal", "people.use_ratingterminal"]
ROLE_PERMISSIONS[Role.SERVICE_ADVISOR] += ["people.use_ratingterminal"]
_TRAINING = ["people.view_trainingsession", "people.add_trainingsession", "people.view_newhireprogramme",
             "people.add_newhireprogramme", "people.change_newhireprogramme"]
ROLE_PERMISSIONS[Role.STORE_MANAGER] += _TRAINING
ROLE_PERMISSIONS[Role.FOREMAN] += _TRAINING
ROLE_PERMISSIONS[Role.CASHIER] += ["people.use_ratingterminal"]
# People, incentives and meetings: the manager sets the store's thresholds and rewards, sends staff to training,
# records referral payouts, the general manager's receptions and the monthly customer-service meeting.
ROLE_PERMISSIONS[Role.STORE_MANAGER] += [
    "people.view_peoplesettings", "people.change_peoplesettings", "people.view_trainingassignment",
    "people.add_trainingassignment", "people.view_referralreward", "people.add_referralreward",
    "people.view_gmreception", "people.add_gmreception", "people.view_servicemeeting", "people.add_servicemeeting",
    "people.change_servicemeeting",
]
ROLE_PERMISSIONS[Role.FOREMAN] += ["people.view_trainingassignment", "people.view_servicemeeting"]
ROLE_PERMISSIONS[Role.GROUP_ADMIN] = [*ROLE_PERMISSIONS[Role.STORE_MANAGER], "stores.view_all_stores"]
ROLE_PERMISSIONS[Role.CASHIER] += _LOYALTY_FRONT  # at the till: points and vouchers on invoices, referrals
# Courtesy cars (aftersales/mobility): advisors book and lend them; the manager keeps the fleet and the do-not-lend list.
_MOBILITY_VIEW = ["mobility.view_courtesycar", "mobility.view_courtesybooking", "mobility.view_donotlend"]
_MOBILITY_DESK = [*_MOBILITY_VIEW, "mobility.add_courtesybooking", "mobility.change_courtesybooking"]
_MOBILITY_MANAGE = [*_MOBILITY_DESK, "mobility.add_courtesycar", "mobility.change_courtesycar", "mobility.add_donotlend",
                    "mobility.delete_donotlend"]
_TRIPS_DESK = ["mobility.view_trip", "mobility.add_trip", "mobility.change_trip", "mobility.view_drivershift",
               "mobility.change_drivershift"]
ROLE_PERMISSIONS[Role.SERVICE_ADVISOR] += [*_MOBILITY_DESK, *_TRIPS_DESK]
# Pickup drivers (取送车司机): their own trips on the phone and the door-step moves, nothing else (least privilege).
# The door-step handover is reception's sheet, filled through reception's services with reception's permissions
# lent for the call by mobility once it has checked the sheet is of the driver's own trip (trips.door_step), so
# reception's pages, customers, vehicles and repair orders stay closed to drivers.
ROLE_PERMISSIONS[Role.DRIVER] = ["mobility.view_trip", "mobility.change_trip"]
ROLE_PERMISSIONS[Role.CALL_CENTRE] += _TRIPS_DESK
ROLE_PERMISSIONS[Role.CALL_CENTRE] += _MOBILITY_VIEW
ROLE_PERMISSIONS[Role.STORE_MANAGER] += [*_MOBILITY_MANAGE, *_TRIPS_DESK]
ROLE_PERMISSIONS[Role.GROUP_ADMIN] += [*_MOBILITY_MANAGE, *_TRIPS_DESK]

# Roles whose lists show full phone numbers (others see 138****1234) are those holding view_full_mobile.


@transaction.atomic
def sync_roles() -> None:
    from django.contrib.auth.models import Group, Permission

    for code, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=code)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is None:
                raise LookupError(f"permission {dotted} for role {code} does not exist")
            wanted.append(perm)
        group.permissions.set(wanted)
    from aftersales.common import authcache

    authcache.bump()


def sync_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "label", "") != "staff":
        return
    from django.apps import apps as global_apps

    # Only when every app we reference has its permissions (i.e. the full project is migrated).
    needed = {"customers", "vehicles", "workshop", "billing", "stores", "common", "appointments", "reception"}
    needed = {"customers", "vehicles", "workshop", "billing", "stores", "common", "appointments", "care"}
    if not needed.issubset({a.label for a in global_apps.get_app_configs()}):
        return
    from django.contrib.auth.management import create_permissions

    for config in global_apps.get_app_configs():
        create_permissions(config, verbosity=0, using=kwargs.get("using", "default"))
    sync_roles()
