"""The checklists every store starts with (a manager edits them afterwards on the checklist editor).

Each entry: code, purpose, names, flags, and groups of items. An item is (zh, en) for a green/yellow/red check, or
(zh, en, unit, red_below, yellow_below, yellow_above, red_above) for a measurement; "?" before a QC item's Chinese
name makes it optional (may be marked "not needed", e.g. the road test).
"""

from __future__ import annotations

from typing import Any

from .choices import ChecklistPurpose as P

M = "measure"

TYRES = ("轮胎", "Tyres", [
    ("左前轮胎花纹深度", "Tread depth, front left", "mm", "1.6", "3", None, None),
    ("右前轮胎花纹深度", "Tread depth, front right", "mm", "1.6", "3", None, None),
    ("左后轮胎花纹深度", "Tread depth, rear left", "mm", "1.6", "3", None, None),
    ("右后轮胎花纹深度", "Tread depth, rear right", "mm", "1.6", "3", None, None),
    ("轮胎气压（冷态）", "Tyre pressure (cold)", "bar", "1.8", "2.1", "2.7", "3.2"),
    ("轮胎外观（鼓包、裂纹、异物）", "Tyre condition (bulges, cracks, objects)"),
])
BRAKES = ("制动系统", "Brakes", [
    ("前刹车片厚度", "Front brake pad thickness", "mm", "3", "5", None, None),
    ("后刹车片厚度", "Rear brake pad thickness", "mm", "3", "5", None, None),
    ("刹车盘磨损", "Brake disc wear"),
    ("刹车油含水量", "Brake fluid water content", "%", None, None, "2", "3"),
    ("驻车制动", "Parking brake"),
])
LIGHTS = ("灯光与电气", "Lights and electrics", [
    ("前照灯、转向灯、刹车灯", "Headlights, indicators, brake lights"),
    ("蓄电池电压（静态）", "Battery voltage (at rest)", "V", "12.0", "12.4", None, None),
    ("雨刮片与喷水", "Wiper blades and washers"),
    ("喇叭与仪表警告灯", "Horn and dashboard warning lights"),
])
FLUIDS = ("油液与滤清器", "Fluids and filters", [
    ("机油液位与油质", "Engine oil level and condition"),
    ("机油滤清器", "Oil filter"),
    ("空气滤清器", "Air filter"),
    ("空调滤清器", "Cabin (A/C) filter"),
    ("冷却液液位与冰点", "Coolant level and freezing point"),
    ("变速箱油", "Transmission fluid"),
    ("转向助力油", "Power steering fluid"),
])
UNDERBODY = ("底盘", "Underbody", [
    ("悬挂与减震器", "Suspension and shock absorbers"),
    ("球头与转向拉杆", "Ball joints and tie rods"),
    ("排气系统", "Exhaust system"),
    ("底盘渗漏检查", "Leaks under the car"),
])

DEFAULTS: list[dict[str, Any]] = [
    {
        "code": "first-service", "purpose": P.INSPECTION, "zh": "首保 / 保养检查", "en": "First service / maintenance check",
        "service_kinds": ["maintenance"],
        "groups": [FLUIDS, TYRES, BRAKES, LIGHTS],
    },
    {
        "code": "general", "purpose": P.INSPECTION, "zh": "综合检测", "en": "General check", "is_default": True,
        "service_kinds": ["repair", "inspection", "other"],
        "groups": [TYRES, BRAKES, LIGHTS, FLUIDS, UNDERBODY],
    },
    {
        "code": "ev-check", "purpose": P.INSPECTION, "zh": "新能源三电检测", "en": "EV check (battery, motor, controls)",
        "for_ev": True, "service_skills": ["ev"],
        "groups": [
            ("动力电池", "High-voltage battery", [
                ("电池健康度 SOH", "Battery state of health (SOH)", "%", "70", "80", None, None),
                ("单体电压压差", "Cell voltage spread", "mV", None, None, "30", "50"),
                ("电池包外观与密封", "Battery pack housing and seals"),
                ("绝缘电阻", "Insulation resistance", "MΩ", "0.5", "1", None, None),
            ]),
            ("电驱与高压系统", "Drive unit and high-voltage system", [
                ("驱动电机异响", "Drive motor noise"),
                ("高压线束与接插件", "High-voltage cables and connectors"),
                ("电驱冷却液液位", "Drive unit coolant level"),
                ("充电口与慢充/快充测试", "Charging port, AC and DC charging test"),
            ]),
            ("低压与底盘", "12 V system and chassis", [
                ("12V 蓄电池电压", "12 V battery voltage", "V", "12.0", "12.4", None, None),
                ("前刹车片厚度", "Front brake pad thickness", "mm", "3", "5", None, None),
                ("左前轮胎花纹深度", "Tread depth, front left", "mm", "1.6", "3", None, None),
                ("右前轮胎花纹深度", "Tread depth, front right", "mm", "1.6", "3", None, None),
                ("灯光", "Lights"),
            ]),
        ],
    },
    {
        "code": "qc-self", "purpose": P.SELF_CHECK, "zh": "技师自检", "en": "Technician self-check",
        "groups": [("自检", "Self-check", [
            ("所有作业项目已完成", "Every job on the order is done"),
            ("紧固件按扭矩拧紧", "Fasteners torqued to specification"),
            ("油液液位正确、无渗漏", "Fluid levels correct, no leaks"),
            ("旧件已按客户要求保留", "Old parts kept as the customer asked"),
            ("工具、护垫已取出", "Tools and covers removed from the car"),
        ])],
    },
    {
        "code": "qc-peer", "purpose": P.PEER_CHECK, "zh": "互检 / 班组长检验", "en": "Peer / team-lead check",
        "groups": [("互检", "Peer check", [
            ("作业与工单一致", "Work matches the repair order"),
            ("关键部位复查（刹车、车轮螺栓）", "Safety items re-checked (brakes, wheel nuts)"),
            ("无新增损伤", "No new damage to the car"),
        ])],
    },
    {
        "code": "qc-final", "purpose": P.FINAL_QC, "zh": "终检（质检员）", "en": "Final QC (QC inspector)",
        "groups": [
            ("功能测试", "Function test", [
                ("维修项目功能正常", "Repaired systems work as intended"),
                ("无故障灯、无故障码", "No warning lights or fault codes"),
                ("灯光、空调、车窗工作正常", "Lights, A/C and windows work"),
            ]),
            ("外观检查", "Visual check", [
                ("车身外观无新增划痕", "No new scratches on the body"),
                ("车内整洁、座椅与后视镜复位", "Interior clean, seats and mirrors reset"),
            ]),
            ("路试", "Road test", [
                ("?路试（制动、转向、异响）", "Road test (braking, steering, noises)"),
            ]),
        ],
    },
    {
        "code": "cleaning", "purpose": P.CLEANING, "zh": "三级清洁", "en": "Cleaning (three levels)",
        "groups": [("清洁", "Cleaning", [
            ("车身外部清洗", "Exterior washed"),
            ("车内清洁（座椅、脚垫、仪表台）", "Interior cleaned (seats, mats, dashboard)"),
            ("发动机舱清洁", "Engine bay cleaned"),
        ])],
    },
]


# The labour operation (code of the labour guide, with its parts) proposed when an item of the shipped checklists is
# red or yellow. A store whose guide lacks a code gets an unpriced job, flagged until the advisor prices it; the
# manager changes the mapping on the checklist editor.
OPERATIONS: dict[str, str] = {
    "前刹车片厚度": "BRK-F",
    "后刹车片厚度": "BRK-R",
    "刹车盘磨损": "BRK-DISC-F",
    "刹车油含水量": "BRK-FLUID",
    "机油液位与油质": "OIL-0W20",
    "机油滤清器": "OIL-0W20",
    "空气滤清器": "FLT-AIR",
    "空调滤清器": "FLT-CABIN",
    "冷却液液位与冰点": "COOLANT",
    "变速箱油": "ATF",
    "喇叭与仪表警告灯": "DIAG",
}
