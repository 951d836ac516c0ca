"""Demo data: a dealer group, two stores, staff in every role, 200 customers, 300 vehicles, a year of visits.

Lives at the top of the layers (aftersales/demo/, issue 19): it calls every app's own demo. Loaded by
``aftersales load_demo`` (run on every ``make run``): it loads once, and a fixed seed makes the same
data every time (dates are relative to the moment of loading). Writes go through the domain services so the
audit trail, mileage readings, order events, invoices and payments are the real thing.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from aftersales.billing.choices import PaymentMethod
from aftersales.billing.services import invoice_issue, payment_record
from aftersales.common.demo_login import DEMO_PASSWORD, demo_marker, mark_demo_install  # noqa: F401  (re-exported)
from aftersales.common.money import q
from aftersales.common.readtime import coded
from aftersales.common.validators import (
    normalize_mobile,
    normalize_plate,
)
from aftersales.customers.choices import Channel, ConsentPurpose, ConsentSource, Title
from aftersales.customers.models import Customer, Tag
from aftersales.customers.services import consent_record, customer_create
from aftersales.inspections.demo import load as load_inspections_demo
from aftersales.staff.models import Skill, StoreMembership, User
from aftersales.staff.roles import ROLE_PERMISSIONS, Role, sync_roles
from aftersales.stores.models import DealerGroup, Holiday, HolidayKind, OpeningPeriod, SlotKind, Store
from aftersales.vehicles.choices import FuelType
from aftersales.vehicles.demo import make_demo_vin
from aftersales.vehicles.models import Vehicle
from aftersales.vehicles.services import vehicle_create, vehicle_transfer
from aftersales.workshop.choices import IN_SHOP_STATES, JobStatus, JobType, LineKind, OrderStatus
from aftersales.workshop.services import repair_job_move, repair_order_move, repair_order_record_visit

SEED = 20260101
GROUP_NAME = "华南汽车服务集团 / South China Auto Group"
HISTORY_DAYS = 360  # every customer's history fits in the last year

# ---- stores ------------------------------------------------------------------------------------------------
STORES: list[dict[str, Any]] = [
    {
        "code": "gz",
        "name": "广州天河店 / Guangzhou Tianhe",
        "plate_prefix": "粤A",
        "labour_rate": Decimal("280.00"),
        "address": "广州市天河区黄埔大道西638号 华南汽车城A栋",
        "phone": "020-38886688",
        "directions": "地铁3号线/5号线珠江新城站B1出口步行约10分钟；客户停车场入口在黄埔大道西辅道，"
        "进门后请沿“售后接待”指示牌到服务接待区。",
        "weekday": [("08:30", "18:00", SlotKind.REGULAR), ("18:00", "21:00", SlotKind.EVENING)],
        "weekend": [("09:00", "17:00", SlotKind.WEEKEND)],
    },
    {
        "code": "sz",
        "name": "深圳福田店 / Shenzhen Futian",
        "plate_prefix": "粤B",
        "labour_rate": Decimal("300.00"),
        "address": "深圳市福田区深南大道7008号 福田汽车服务中心1楼",
        "phone": "0755-83336677",
        "directions": "地铁1号线车公庙站D出口向西步行约8分钟；自驾请从深南大道辅道进入，"
        "售后入口位于展厅东侧，有“售后服务”蓝色指示牌。",
        "weekday": [("08:30", "18:00", SlotKind.REGULAR), ("18:00", "20:30", SlotKind.EVENING)],
        "weekend": [("09:00", "17:30", SlotKind.WEEKEND)],
    },
]

HOLIDAYS: list[tuple[str, str, str]] = [
    ("2026-01-01", "元旦", HolidayKind.CLOSED),
    ("2026-02-16", "春节（除夕）", HolidayKind.CLOSED),
    ("2026-02-17", "春节", HolidayKind.CLOSED),
    ("2026-02-18", "春节", HolidayKind.CLOSED),
    ("2026-02-28", "春节调休上班", HolidayKind.WORKDAY),
    ("2026-04-05", "清明节", HolidayKind.CLOSED),
    ("2026-05-01", "劳动节", HolidayKind.CLOSED),
    ("2026-06-19", "端午节", HolidayKind.CLOSED),
    ("2026-09-25", "中秋节", HolidayKind.CLOSED),
    ("2026-10-01", "国庆节", HolidayKind.CLOSED),
    ("2026-10-02", "国庆节", HolidayKind.CLOSED),
    ("2027-01-01", "元旦", HolidayKind.CLOSED),
    ("2027-02-06", "春节", HolidayKind.CLOSED),
    ("2027-02-07", "春节", HolidayKind.CLOSED),
]

# ---- staff: (username stem, role, display names at gz and sz, skills) --------------------------------------
STAFF: list[tuple[str, str, tuple[str, str], list[str]]] = [
    ("manager", Role.STORE_MANAGER, ("陈建国", "杨帆"), []),
    ("advisor", Role.SERVICE_ADVISOR, ("林晓燕", "许静"), []),
    ("advisor2", Role.SERVICE_ADVISOR, ("张伟", "邓超"), []),
    ("advisor3", Role.SERVICE_ADVISOR, ("何丽娜", "冯雪"), []),
    ("tech", Role.TECHNICIAN, ("王强", "谢文斌"), [Skill.MAINTENANCE, Skill.ENGINE, Skill.TYRES]),
    ("tech2", Role.TECHNICIAN, ("刘洋", "曾志明"), [Skill.ELECTRICAL, Skill.EV, Skill.AIRCON]),
    ("tech3", Role.TECHNICIAN, ("赵磊", "彭亮"), [Skill.BODY, Skill.PAINT]),
    (
        "tech4",
        Role.TECHNICIAN,
        ("周海波", "蔡俊杰"),
        [Skill.TRANSMISSION, Skill.ENGINE, Skill.MAINTENANCE, Skill.TYRES],
    ),
    ("foreman", Role.FOREMAN, ("吴国栋", "袁刚"), [Skill.ENGINE, Skill.TRANSMISSION, Skill.ELECTRICAL]),
    ("qc", Role.QC_INSPECTOR, ("郑敏", "潘婷"), []),
    ("parts", Role.PARTS_CLERK, ("梁志华", "钟伟"), []),
    ("cashier", Role.CASHIER, ("苏晓丽", "唐晓梅"), []),
    ("callcentre", Role.CALL_CENTRE, ("罗佳怡", "韩雨欣"), []),
    ("driver", Role.DRIVER, ("李建军", "孙浩然"), []),  # pickup and delivery (issue 22)
]
ADMIN = ("admin", Role.GROUP_ADMIN, "黄志远")

# ---- customers ---------------------------------------------------------------------------------------------
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁任沈"
    "姚卢钟姜崔谭陆汪范廖石金贾"
)
GIVEN_MALE = (
    "伟",
    "强",
    "磊",
    "军",
    "勇",
    "杰",
    "涛",
    "斌",
    "超",
    "明",
    "刚",
    "平",
    "辉",
    "鹏",
    "华",
    "飞",
    "浩",
    "志强",
    "建华",
    "国强",
    "志明",
    "俊杰",
    "文斌",
    "海涛",
    "建军",
    "晓东",
    "永强",
    "家豪",
    "子轩",
    "宇航",
    "嘉俊",
    "振华",
)
GIVEN_FEMALE = (
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "娟",
    "霞",
    "婷",
    "雪",
    "琳",
    "颖",
    "洁",
    "晶",
    "秀英",
    "桂英",
    "丽娟",
    "晓燕",
    "美玲",
    "雅婷",
    "欣怡",
    "佳怡",
    "梓涵",
    "诗琪",
    "嘉欣",
    "慧敏",
    "丽华",
    "春梅",
    "海燕",
    "思颖",
)
MOBILE_PREFIXES = (
    "138",
    "139",
    "135",
    "136",
    "137",
    "150",
    "158",
    "186",
    "188",
    "189",
    "177",
    "199",
    "133",
    "180",
)
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "foxmail.com", "sina.com")
ADDRESSES = {
    "gz": [
        ("广州市天河区", ("天河路", "体育西路", "林和西路", "中山大道西", "黄埔大道西", "珠江东路")),
        ("广州市越秀区", ("东风中路", "环市东路", "北京路", "解放北路")),
        ("广州市海珠区", ("新港中路", "江南大道中", "工业大道南")),
        ("广州市番禺区", ("市桥街繁华路", "南村镇兴南大道", "大石街105国道")),
        ("广州市白云区", ("机场路", "白云大道北", "同和路")),
    ],
    "sz": [
        ("深圳市福田区", ("深南大道", "福华三路", "益田路", "彩田路", "香蜜湖路")),
        ("深圳市南山区", ("科技园科苑路", "南海大道", "后海大道", "西丽留仙大道")),
        ("深圳市罗湖区", ("人民南路", "东门中路", "布心路")),
        ("深圳市宝安区", ("新安街道宝民一路", "西乡大道", "福永街道凤凰路")),
        ("深圳市龙华区", ("民治大道", "龙华大道", "梅龙路")),
    ],
}
BUILDINGS = ("花园", "小区", "大厦", "雅苑", "公馆", "名苑", "新村")
PREFERENCES = (
    "喜欢绿茶",
    "喝咖啡，加奶不加糖",
    "只喝温水",
    "喜欢普洱茶",
    "在休息室等候，需要Wi-Fi",
    "不喜欢电话打扰，请发微信",
    "工作日中午12点到2点方便接电话",
    "常带小孩来店，需要儿童区",
    "希望保养时顺便洗车",
    "旧件需要带走",
    "只用原厂配件",
    "对价格比较敏感，报价请先说明",
    "喜欢铁观音",
    "下班后来店，偏好晚间时段",
    "要求提前确认交车时间",
)
MANUAL_TAGS = ("车友会会员", "企业客户", "网约车司机", "老客户推荐", "价格敏感", "VIP关注")
INSURERS = ("中国平安", "中国人保", "太平洋保险", "中国人寿财险", "大地保险")
COLOURS = ("珍珠白", "曜石黑", "星空灰", "银色", "宝石蓝", "烈焰红", "香槟金", "深海蓝")

# ---- vehicle catalogue: make, model, WMI, VDS stem, fuel, price range (CNY), price class, oil litres -------
CATALOGUE: list[tuple[str, str, str, str, str, tuple[int, int], float, float, int]] = [
    ("丰田 Toyota", "凯美瑞 Camry", "LVG", "BK3EK", FuelType.PETROL, (179_800, 249_800), 1.15, 4.5, 10),
    ("丰田 Toyota", "凯美瑞 Camry 双擎", "LVG", "BH3EK", FuelType.HYBRID, (209_800, 279_800), 1.15, 4.5, 5),
    ("丰田 Toyota", "RAV4 荣放", "LFM", "AP4FV", FuelType.PETROL, (175_800, 259_800), 1.15, 4.5, 9),
    ("大众 Volkswagen", "朗逸 Lavida", "LSV", "A60C2", FuelType.PETROL, (109_900, 152_900), 1.0, 4.0, 12),
    ("大众 Volkswagen", "途观L Tiguan L", "LSV", "UC6F2", FuelType.PETROL, (199_800, 285_800), 1.2, 5.5, 8),
    ("大众 Volkswagen", "迈腾 Magotan", "LFV", "A23C7", FuelType.PETROL, (186_900, 279_900), 1.2, 5.5, 7),
    ("比亚迪 BYD", "汉 EV Han EV", "LGX", "CE4C7", FuelType.EV, (209_800, 279_800), 1.1, 0, 9),
    ("比亚迪 BYD", "秦PLUS DM-i Qin PLUS", "LGX", "C76C3", FuelType.PHEV, (99_800, 145_800), 0.95, 4.0, 11),
    ("比亚迪 BYD", "宋PLUS DM-i Song PLUS", "LGX", "C86C4", FuelType.PHEV, (149_800, 189_800), 1.0, 4.0, 7),
    ("本田 Honda", "雅阁 Accord", "LHG", "CV165", FuelType.PETROL, (169_800, 259_800), 1.15, 4.0, 9),
    ("本田 Honda", "CR-V", "LVH", "RW184", FuelType.PETROL, (181_900, 259_900), 1.15, 4.0, 8),
    ("别克 Buick", "GL8 陆尊", "LSG", "UB8S4", FuelType.PETROL, (232_900, 359_900), 1.35, 5.5, 7),
    ("特斯拉 Tesla", "Model 3", "LRW", "3E7FA", FuelType.EV, (231_900, 285_900), 1.4, 0, 8),
    ("特斯拉 Tesla", "Model Y", "LRW", "YGEFA", FuelType.EV, (249_900, 299_900), 1.4, 0, 6),
    ("吉利 Geely", "星越L Xingyue L", "L6T", "79F2E", FuelType.PETROL, (135_700, 189_700), 0.95, 5.0, 7),
    ("蔚来 NIO", "ET5", "LJ1", "EEASB", FuelType.EV, (298_000, 356_000), 1.5, 0, 4),
    ("哈弗 Haval", "H6", "LGW", "EF6A8", FuelType.PETROL, (98_900, 154_900), 0.9, 4.5, 6),
    ("福特 Ford", "蒙迪欧 Mondeo", "LVS", "HFAE9", FuelType.PETROL, (179_800, 249_800), 1.1, 5.0, 4),
]
# first model year on the Chinese market (a car is never older than its model)
MODEL_SINCE = {
    "汉 EV Han EV": 2020,
    "秦PLUS DM-i Qin PLUS": 2021,
    "宋PLUS DM-i Song PLUS": 2021,
    "Model 3": 2019,
    "Model Y": 2021,
    "星越L Xingyue L": 2021,
    "ET5": 2022,
    "凯美瑞 Camry 双擎": 2018,
}
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


# ---- parts: suppliers, catalogue (number, OEM number, 中文, English, category, unit, cost, sale, warranty months,
# tracking, supplier, interchangeable numbers, the code the demo's repair lines use), stock per store -------------
SUPPLIERS: list[dict[str, Any]] = [
    {"key": "toyota", "name": "广州丰田配件中心", "contact": "李国华", "phone": "020-87652233",
     "email": "parts@gz-toyota-parts.example.cn", "lead_time_days": 2},
    {"key": "bosch", "name": "博世汽车配件(Bosch)", "contact": "王海峰", "phone": "020-38779900",
     "email": "order@bosch-aa.example.cn", "lead_time_days": 3},
    {"key": "michelin", "name": "米其林轮胎经销", "contact": "陈志伟", "phone": "0755-82996688",
     "email": "dealer@michelin-sz.example.cn", "lead_time_days": 4},
]
PartSpec = tuple[str, str, str, str, str, str, str, str, int | None, str, str, list[tuple[str, str]], str]
PARTS: list[PartSpec] = [
    # oil and fluids
    ("08880-13705", "08880-13705", "丰田原厂全合成机油 0W-20", "Toyota genuine motor oil 0W-20", "oil", "litre",
     "55.00", "88.00", None, "none", "toyota", [("MOBIL1-0W20", "美孚 Mobil 1")], "OIL-0W20"),
    ("08880-13805", "08880-13805", "丰田原厂机油 5W-30", "Toyota genuine motor oil 5W-30", "oil", "litre",
     "45.00", "75.00", None, "none", "toyota", [("EDGE-5W30", "嘉实多 Castrol")], "OIL-5W30"),
    ("CASTROL-EDGE-0W20", "", "嘉实多极护全合成 0W-20", "Castrol EDGE 0W-20", "oil", "litre",
     "58.00", "92.00", None, "none", "bosch", [], ""),
    ("SHELL-HX8-5W40", "", "壳牌超凡喜力 5W-40", "Shell Helix Ultra 5W-40", "oil", "litre",
     "48.00", "80.00", None, "none", "bosch", [], ""),
    ("08889-80140", "08889-80140", "丰田原厂超长效冷却液（粉红）", "Toyota super long life coolant", "oil", "litre",
     "25.00", "45.00", None, "none", "toyota", [], "COOLANT"),
    ("BYD-EVC-01", "", "电动车专用冷却液（低电导率）", "EV coolant, low conductivity", "ev", "litre",
     "38.00", "68.00", None, "none", "bosch", [], "EV-COOLANT"),
    ("08886-81210", "08886-81210", "丰田 ATF WS 自动变速箱油", "Toyota ATF WS", "transmission", "litre",
     "70.00", "120.00", None, "none", "toyota", [], ""),
    ("08823-80011", "08823-80011", "丰田原厂 DOT4 刹车油", "Toyota genuine brake fluid DOT4", "brake", "litre",
     "52.00", "98.00", None, "none", "toyota", [("1987479107", "BOSCH")], "BRK-FLUID"),
    ("1987479107", "", "博世 DOT4 刹车油", "Bosch brake fluid DOT4", "brake", "litre",
     "40.00", "78.00", None, "none", "bosch", [], ""),
    ("WSH-FLUID-2L", "", "玻璃清洗液（-25°C）", "Screen wash (-25 °C)", "accessory", "litre",
     "5.00", "15.00", None, "none", "bosch", [], ""),
    # filters
    ("04152-YZZA1", "04152-YZZA1", "丰田机油滤清器", "Toyota oil filter", "filter", "piece",
     "32.00", "68.00", 6, "none", "toyota", [("HU 7019 Z", "MANN"), ("0986AF0052", "BOSCH"), ("FLT-OIL", "")], "FLT-OIL"),
    ("15400-RTA-003", "15400-RTA-003", "本田机油滤清器", "Honda oil filter", "filter", "piece",
     "30.00", "65.00", 6, "none", "toyota", [("W610/6", "MANN")], ""),
    ("06L115562B", "06L115562B", "大众机油滤清器", "VW oil filter", "filter", "piece",
     "42.00", "85.00", 6, "none", "bosch", [("HU 6002 Z", "MANN")], ""),
    ("17801-21050", "17801-21050", "丰田空气滤清器", "Toyota air filter", "filter", "piece",
     "58.00", "118.00", 6, "none", "toyota", [("C 26 003", "MANN"), ("FLT-AIR", "")], "FLT-AIR"),
    ("17220-5A2-A00", "17220-5A2-A00", "本田空气滤清器", "Honda air filter", "filter", "piece",
     "55.00", "110.00", 6, "none", "toyota", [], ""),
    ("87139-YZZ08", "87139-YZZ08", "丰田空调滤芯", "Toyota cabin air filter", "filter", "piece",
     "48.00", "108.00", 6, "none", "toyota", [("1987435501", "BOSCH"), ("FLT-CABIN", "")], "FLT-CABIN"),
    ("87139-YZZ20", "87139-YZZ20", "空调滤芯（活性炭）", "Cabin filter, activated carbon", "filter", "piece",
     "62.00", "128.00", 6, "none", "toyota", [("CUK 26 010", "MANN")], ""),
    ("1107681-00-A", "1107681-00-A", "特斯拉空调滤芯（HEPA）", "Tesla cabin filter (HEPA)", "filter", "set",
     "120.00", "220.00", 6, "none", "bosch", [], ""),
    ("23300-31100", "23300-31100", "汽油滤清器", "Fuel filter", "filter", "piece",
     "95.00", "180.00", 6, "none", "toyota", [], ""),
    ("90430-12031", "90430-12031", "放油螺栓垫片", "Drain plug gasket", "engine", "piece",
     "2.00", "8.00", None, "none", "toyota", [("WSH-DRAIN", "")], "WSH-DRAIN"),
    # brakes
    ("04465-33471", "04465-33471", "丰田前刹车片（一套）", "Toyota front brake pads (set)", "brake", "set",
     "380.00", "620.00", 12, "none", "toyota", [("0986494628", "BOSCH"), ("BRK-PAD-F", "")], "BRK-PAD-F"),
    ("04466-33180", "04466-33180", "丰田后刹车片（一套）", "Toyota rear brake pads (set)", "brake", "set",
     "320.00", "520.00", 12, "none", "toyota", [], ""),
    ("0986AB2553", "", "博世前刹车片（一套）", "Bosch front brake pads (set)", "brake", "set",
     "260.00", "450.00", 12, "none", "bosch", [("04465-33471", "TOYOTA")], ""),
    ("43512-33130", "43512-33130", "丰田前刹车盘", "Toyota front brake disc", "brake", "piece",
     "420.00", "690.00", 12, "none", "toyota", [("0986479C20", "BOSCH")], ""),
    ("42431-33120", "42431-33120", "丰田后刹车盘", "Toyota rear brake disc", "brake", "piece",
     "360.00", "590.00", 12, "none", "toyota", [], ""),
    ("45022-TVA-A00", "45022-TVA-A00", "本田前刹车片（一套）", "Honda front brake pads (set)", "brake", "set",
     "350.00", "580.00", 12, "none", "toyota", [], ""),
    # tyres (batch = DOT week)
    ("MIC-P4-2255517", "", "米其林 Primacy 4 225/55R17 轮胎", "Michelin Primacy 4 225/55 R17", "tyre", "piece",
     "720.00", "980.00", 36, "batch", "michelin", [("TYR-22555R17", "")], "TYR-22555R17"),
    ("MIC-P4-2156016", "", "米其林 Primacy 4 215/60R16 轮胎", "Michelin Primacy 4 215/60 R16", "tyre", "piece",
     "620.00", "860.00", 36, "batch", "michelin", [], ""),
    ("MIC-PS4-2354518", "", "米其林 Pilot Sport 4 235/45R18 轮胎", "Michelin Pilot Sport 4 235/45 R18", "tyre", "piece",
     "980.00", "1380.00", 36, "batch", "michelin", [], ""),
    ("MIC-EP-2454519", "", "米其林 e·Primacy 245/45R19 电动车轮胎", "Michelin e.Primacy 245/45 R19 (EV)", "tyre", "piece",
     "1050.00", "1480.00", 36, "batch", "michelin", [], ""),
    ("BS-T005-2255517", "", "普利司通 Turanza T005 225/55R17 轮胎", "Bridgestone Turanza T005 225/55 R17", "tyre", "piece",
     "650.00", "900.00", 36, "batch", "michelin", [("MIC-P4-2255517", "MICHELIN")], ""),
    # batteries (batch = production lot)
    ("VARTA-60AH", "", "瓦尔塔蓄电池 12V 60Ah", "VARTA battery 12 V 60 Ah", "battery", "piece",
     "480.00", "680.00", 24, "batch", "bosch", [("BAT-60AH", "")], "BAT-60AH"),
    ("VARTA-70AH-AGM", "", "瓦尔塔 AGM 启停蓄电池 12V 70Ah", "VARTA AGM start-stop battery 70 Ah", "battery", "piece",
     "780.00", "1080.00", 24, "batch", "bosch", [], ""),
    ("28800-YZZ8B", "28800-YZZ8B", "丰田原厂蓄电池 55B24L", "Toyota genuine battery 55B24L", "battery", "piece",
     "430.00", "620.00", 18, "batch", "toyota", [], ""),
    ("BOSCH-S4-45AH", "0092S40010", "博世 S4 蓄电池 12V 45Ah", "Bosch S4 battery 45 Ah", "battery", "piece",
     "380.00", "560.00", 24, "batch", "bosch", [], ""),
    ("BYD-12V-LFP", "", "比亚迪 12V 磷酸铁锂启动电池", "BYD 12 V LFP auxiliary battery", "ev", "piece",
     "560.00", "880.00", 36, "batch", "bosch", [], ""),
    # wipers, plugs, lamps
    ("85222-33180", "85222-33180", "丰田无骨雨刮片（一对）", "Toyota flat wiper blades (pair)", "accessory", "set",
     "90.00", "168.00", 6, "none", "toyota", [("WPR-PAIR", "")], "WPR-PAIR"),
    ("3397007502", "", "博世风翼无骨雨刮（一对）", "Bosch Aerotwin wiper blades (pair)", "accessory", "set",
     "80.00", "150.00", 6, "none", "bosch", [("85222-33180", "TOYOTA")], ""),
    ("85242-0R010", "85242-0R010", "丰田后雨刮片", "Toyota rear wiper blade", "accessory", "piece",
     "35.00", "68.00", 6, "none", "toyota", [], ""),
    ("90919-01253", "90919-01253", "丰田铱金火花塞", "Toyota iridium spark plug", "engine", "piece",
     "65.00", "120.00", 12, "none", "toyota", [("FK20HR11", "DENSO"), ("0242135524", "BOSCH")], "SPARK"),
    ("ILZKR7B11", "", "NGK 铱金火花塞 ILZKR7B-11", "NGK iridium spark plug ILZKR7B-11", "engine", "piece",
     "70.00", "128.00", 12, "none", "bosch", [], ""),
    ("101905601F", "101905601F", "大众火花塞", "VW spark plug", "engine", "piece",
     "55.00", "98.00", 12, "none", "bosch", [], ""),
    ("H11-OSRAM", "", "欧司朗 H11 卤素灯泡", "Osram H11 halogen bulb", "electrical", "piece",
     "35.00", "68.00", 6, "none", "bosch", [], ""),
    ("H7-PHILIPS", "", "飞利浦 H7 卤素灯泡", "Philips H7 halogen bulb", "electrical", "piece",
     "30.00", "60.00", 6, "none", "bosch", [], ""),
    ("FUSE-KIT-ATO", "", "插片保险丝套装", "ATO fuse assortment", "electrical", "set",
     "15.00", "35.00", None, "none", "bosch", [], ""),
    # air conditioning
    ("R134A-KG", "", "R134a 冷媒（kg）", "R134a refrigerant (kg)", "aircon", "kg",
     "80.00", "160.00", None, "none", "bosch", [("AC-R134A", "")], "AC-R134A"),
    ("R1234YF-KG", "", "R1234yf 冷媒（kg）", "R1234yf refrigerant (kg)", "aircon", "kg",
     "380.00", "620.00", None, "none", "bosch", [], ""),
    ("AC-CLEAN-500", "", "空调系统清洗剂 500ml", "A/C system cleaner 500 ml", "aircon", "piece",
     "45.00", "98.00", None, "none", "bosch", [("AC-CLEAN", "")], "AC-CLEAN"),
    ("88716-33040", "88716-33040", "空调压缩机皮带", "A/C compressor belt", "aircon", "piece",
     "110.00", "220.00", 12, "none", "toyota", [], ""),
    # suspension, engine, transmission, body, accessories
    ("48510-80707", "48510-80707", "丰田前减震器", "Toyota front shock absorber", "suspension", "piece",
     "480.00", "880.00", 24, "none", "toyota", [], ""),
    ("48820-33060", "48820-33060", "前稳定杆连杆", "Front stabiliser link", "suspension", "piece",
     "85.00", "180.00", 12, "none", "toyota", [], ""),
    ("13568-09130", "13568-09130", "丰田正时皮带", "Toyota timing belt", "engine", "piece",
     "180.00", "360.00", 24, "none", "toyota", [], ""),
    ("90916-A2011", "90916-A2011", "发动机多楔带", "Engine serpentine belt", "engine", "piece",
     "120.00", "240.00", 12, "none", "toyota", [], ""),
    ("11213-0V020", "11213-0V020", "气门室盖垫", "Valve cover gasket", "engine", "piece",
     "60.00", "150.00", 12, "none", "toyota", [], ""),
    ("35330-33080", "35330-33080", "自动变速箱滤网", "Automatic transmission strainer", "transmission", "piece",
     "150.00", "290.00", 12, "none", "toyota", [], ""),
    ("52119-33987", "52119-33987", "前保险杠左下饰条", "Front bumper lower trim, left", "body", "piece",
     "150.00", "260.00", 12, "none", "toyota", [("BMP-TRIM-L", "")], "BMP-TRIM-L"),
    ("75310-33090", "75310-33090", "前标志（车标）", "Front emblem", "body", "piece",
     "160.00", "320.00", 12, "none", "toyota", [], ""),
    ("PT206-33180", "PT206-33180", "凯美瑞全包围脚垫", "Camry floor mats (set)", "accessory", "set",
     "200.00", "398.00", 12, "none", "toyota", [], ""),
    ("70MAI-A800S", "", "70迈 4K 行车记录仪", "70mai 4K dash cam", "accessory", "piece",
     "380.00", "599.00", 12, "none", "bosch", [], ""),
    ("EV-HV-SEAL-KIT", "", "高压连接器密封圈套件", "HV connector seal kit", "ev", "set",
     "95.00", "190.00", 12, "none", "bosch", [], ""),
    ("EV-INS-GLOVE", "", "高压绝缘手套（检测用）", "HV insulating gloves", "ev", "set",
     "260.00", "420.00", 6, "none", "bosch", [], ""),
]
AISLE = {"oil": "A", "filter": "B", "brake": "C", "tyre": "T", "battery": "D", "ev": "E", "aircon": "F",
         "engine": "G", "accessory": "H", "electrical": "J", "suspension": "K", "transmission": "L", "body": "M"}
# below minimum after loading (the reorder list and the sweep's requisitions): per store, part numbers
SHORT = {"gz": ("04152-YZZA1", "87139-YZZ08", "04465-33471", "H7-PHILIPS"), "sz": ("08880-13705", "VARTA-60AH", "85222-33180")}
ONLY_AT_SZ = ("MIC-PS4-2354518", "48510-80707")  # a gz job waits for one of these: a transfer sz → gz
BATCH_ORIGIN = {"michelin": "中国 沈阳 / Shenyang, CN", "bosch": "中国 苏州 / Suzhou, CN", "toyota": "日本 / Japan"}


@dataclass
class DemoResult:
    group: DealerGroup
    users: int
    customers: int
    vehicles: int
    orders: int
    invoices: int
    paid: int
    incomplete: int
    seconds: float
    usernames: list[str] = field(default_factory=list)

# ---- appointments: (code, name zh, name en, kind, minutes, skill, materials zh, materials en) -----------------------
SERVICE_TYPES: list[tuple[str, str, str, str, int, str, str, str]] = [
    ("service-5k", "5,000 公里保养", "5,000 km service", "maintenance", 90, Skill.MAINTENANCE,
     "保养手册、行驶证", "service book, vehicle registration"),
    ("service-10k", "10,000 公里保养", "10,000 km service", "maintenance", 120, Skill.MAINTENANCE,
     "保养手册、行驶证", "service book, vehicle registration"),
    ("brakes", "刹车维修", "Brake repair", "repair", 120, Skill.TYRES, "行驶证；保险理赔请带保单", "registration; insurance policy for claims"),
    ("inspection", "车辆检测", "Vehicle inspection", "inspection", 45, "", "行驶证", "vehicle registration"),
    ("ev-check", "新能源三电检测", "EV battery & drive check", "inspection", 60, Skill.EV, "行驶证、充电卡", "registration, charging card"),
]
CANNED_PARTS = [("08880-13705", "4"), ("04152-YZZA1", "1")]  # the 5,000 km service: oil and an oil filter
APPOINTMENTS = 25
FAULTS = ["刹车时有异响", "踩刹车方向盘抖动", "刹车踏板偏软", "刹车警告灯亮"]


def demo_exists() -> bool:
    return DealerGroup.objects.filter(name=GROUP_NAME).exists()


def demo_usernames() -> list[str]:
    names = [ADMIN[0]]
    for store in STORES:
        suffix = "" if store is STORES[0] else f".{store['code']}"
        names += [f"{stem}{suffix}" for stem, *_rest in STAFF]
    return names


def load_demo(*, now: dt.datetime | None = None, seed: int = SEED) -> DemoResult | None:
    """Create the demo data set; returns None (and changes nothing) when it is already there."""
    if demo_exists():
        return None
    taken = list(User.objects.filter(username__in=demo_usernames()).values_list("username", flat=True))
    if taken:
        raise RuntimeError(f"cannot load the demo: user name(s) already taken: {', '.join(sorted(taken))}")
    started = time.monotonic()
    sync_roles()
    with transaction.atomic():
        builder = _Builder(random.Random(seed), (now or timezone.now()).replace(second=0, microsecond=0))
        builder.run()
    b = builder
    return DemoResult(
        group=b.group,
        users=len(b.users),
        customers=len(b.customers),
        vehicles=len(b.vehicles),
        orders=b.orders,
        invoices=b.invoices,
        paid=b.paid,
        incomplete=b.incomplete,
        seconds=time.monotonic() - started,
        usernames=list(b.users),
    )


# ---- generators --------------------------------------------------------------------------------------------
def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


@dataclass
class _Plan:
    """One customer's story: how many vehicles, how often they come, what is missing from the record."""

    profile: str  # frequent | regular | lapsed | new | dormant | buyer | novehicle | noplate
    store: Store
    vehicles: int = 1


class _Builder:
    def __init__(self, rng: random.Random, now: dt.datetime) -> None:
        self.rng = rng
        self.now = now
        self.today = timezone.localdate(now)
        self.start = self.today - dt.timedelta(days=HISTORY_DAYS)
        self.users: dict[str, User] = {}
        self.stores: dict[str, Store] = {}
        self.store_cfg: dict[str, dict[str, Any]] = {s["code"]: s for s in STORES}
        self.closed: set[dt.date] = set()
        self.customers: list[Customer] = []
        self.vehicles: list[Vehicle] = []
        self.mobiles: set[str] = set()
        self.plates: set[str] = set()
        self.names: set[str] = set()
        self.orders = self.invoices = self.paid = self.incomplete = 0

    # ---- entry point ---------------------------------------------------------------------------------------
    def run(self) -> None:
        self.group = DealerGroup.objects.create(name=GROUP_NAME)
        for cfg in STORES:
            self._store(cfg)
        self._staff()
        self.tags = [Tag.objects.create(group=self.group, name=name) for name in MANUAL_TAGS]
        plans = self._plans()
        stories = [self._customer(plan) for plan in plans]
        transfers = self._pick_transfers(stories)
        for story in stories:
            for vehicle_story in story["vehicles"]:
                self._history(story, vehicle_story, transfers.get(vehicle_story["vehicle"].pk))
        self._open_orders(stories)
        self._parts()
        self._appointments()
        self._messages()
        from aftersales.billing.demo import load as load_billing_demo

        load_billing_demo(group=self.group, now=self.now)
        from aftersales.reception.demo import load as load_reception_demo

        load_reception_demo(self)
        from aftersales.engagement.demo import load as load_engagement_demo

        load_engagement_demo(self)
        from aftersales.loyalty.demo import load as load_loyalty_demo

        load_loyalty_demo(group=self.group, now=self.now)
        from aftersales.feedback.demo import load as load_feedback_demo

        load_feedback_demo(group=self.group, now=self.now)
        from aftersales.care.demo import load as load_care_demo

        load_care_demo(group=self.group, now=self.now)
        load_inspections_demo(self)
        from aftersales.workshop.demo import load as load_workshop_demo

        load_workshop_demo(group=self.group, now=self.now)
        from aftersales.estimates.demo import load as load_estimates_demo

        load_estimates_demo(group=self.group, now=self.now,
                            rates={cfg["code"]: Decimal(cfg["labour_rate"]) for cfg in STORES})
        from aftersales.telematics.demo import load as load_telematics_demo

        load_telematics_demo(group=self.group, now=self.now)
        from aftersales.analytics.demo import load as load_analytics_demo

        load_analytics_demo(group=self.group, now=self.now)
        from aftersales.analytics.demo import load_parts_demand

        load_parts_demand(group=self.group, now=self.now,
                          part_numbers_by_code={spec[-1]: spec[0] for spec in PARTS if spec[-1]})
        from aftersales.people.demo import load as load_people_demo

        load_people_demo(self)
        from aftersales.assessments.demo import load as load_assessments_demo

        load_assessments_demo(self)
        from aftersales.mobility.demo import load as load_mobility_demo

        load_mobility_demo(self)

    # ---- appointments: service catalogue, bays, technician shifts and a week of bookings -----------------------
    def _appointments(self) -> None:
        from aftersales.appointments.availability import free_slots
        from aftersales.appointments.models import Bay, CannedJob, CannedJobPart, ServiceType, TechnicianShift
        from aftersales.appointments.services import appointment_book
        from aftersales.parts.models import Part

        parts = {p.number: p for p in Part.objects.filter(group=self.group, number__in=[n for n, _q in CANNED_PARTS])}
        kinds_by_store: dict[str, list[ServiceType]] = {}
        self.stores["gz"].same_morning_reminder_hour = 8  # Guangzhou also reminds on the morning of the visit
        self.stores["gz"].save(update_fields=["same_morning_reminder_hour"])
        for code, store in self.stores.items():
            kinds = ServiceType.objects.bulk_create(
                ServiceType(store=store, code=c, name_zh=zh, name_en=en, kind=kind, duration_minutes=minutes,
                            required_skill=skill, materials_zh=mzh, materials_en=men)
                for c, zh, en, kind, minutes, skill, mzh, men in SERVICE_TYPES
            )
            kinds_by_store[code] = kinds
            job = CannedJob.objects.create(store=store, name="5,000 km 保养 / 5,000 km service", service_type=kinds[0])
            CannedJobPart.objects.bulk_create(
                CannedJobPart(canned_job=job, part=parts[number], quantity=Decimal(qty))
                for number, qty in CANNED_PARTS if number in parts
            )
            Bay.objects.bulk_create(
                [Bay(store=store, name=f"{i}号工位") for i in range(1, 6)] + [Bay(store=store, name="快速通道", is_priority=True)]
            )
            shifts = []
            for stem in ("tech", "tech2", "tech3", "tech4"):
                user = self._staff_of(store, stem)
                shifts += [TechnicianShift(user=user, store=store, weekday=d, start=_t("08:30"), end=_t("18:00")) for d in range(5)]
                if stem in ("tech2", "tech4"):  # the evening crew
                    shifts += [TechnicianShift(user=user, store=store, weekday=d, start=_t("18:00"), end=_t("21:00")) for d in range(5)]
                if stem in ("tech", "tech2", "tech3"):  # weekends
                    shifts += [TechnicianShift(user=user, store=store, weekday=d, start=_t("09:00"), end=_t("17:00")) for d in (5, 6)]
            TechnicianShift.objects.bulk_create(shifts)
        # ~25 bookings over the store's next 7 open days (a holiday such as New Year's Day is skipped, so the count is
        # the same whenever the demo is loaded), booked as an advisor would (messages, reservations, audit)
        open_days: dict[str, list[dt.date]] = {}
        for code, store in self.stores.items():
            ahead = (self.today + dt.timedelta(days=k) for k in range(1, 22))
            open_days[code] = [d for d in ahead if free_slots(store, d, kinds_by_store[code][0])][:7]
        for n in range(APPOINTMENTS):
            store = self.stores["gz" if n % 5 < 3 else "sz"]
            day = open_days[store.code][n % len(open_days[store.code])]
            kind = self.rng.choice(kinds_by_store[store.code])
            slots = free_slots(store, day, kind)
            if not slots:
                continue
            owners = [c for c in self.customers if c.home_store_id == store.pk]
            customer = self.rng.choice(owners)
            vehicle = customer.vehicles.exclude(plate="").order_by("id").first()
            if vehicle is None:
                continue
            job = CannedJob.objects.filter(store=store, service_type=kind).first()
            appointment_book(
                actor=self.rng.choice(self._advisors(store)), store=store, service_type=kind, canned_job=job,
                start=self.rng.choice(slots[: max(1, len(slots) // 2)]), customer=customer, vehicle=vehicle,
                fault_description=self.rng.choice(FAULTS) if kind.kind == "repair" else "",
                channel=self.rng.choice(("phone", "phone", "portal")),
            )

    # ---- messages (the worker sends them through the console channel when `make run` starts) ---------------
    def _messages(self) -> None:
        from aftersales.messaging.services import channel_settings, customer_variables, message_enqueue

        for store in self.stores.values():
            channel_settings(store)  # console SMS provider, quiet hours 21:00-08:00
        # follow-up surveys of delivered orders are the feedback app's (aftersales/feedback/demo.py): real signed links
        for customer in self.customers[:40]:
            store = customer.home_store
            message_enqueue(
                kind="campaign.offer", store=store, customer=customer, dedup_key=f"demo-winter-{customer.pk}",
                variables={**customer_variables(customer=customer, store=store),
                           "offer": "a free winter battery check" if customer.language == "en" else "冬季电瓶免费检测",
                           # the campaign's link is the owner app's booking page of the store (aftersales/portal)
                           "link": f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/book/{store.code}/"},
            )

    # ---- parts: suppliers, catalogue, stock at both stores, reorder, a purchase order, a transfer, issues -----
    def _parts(self) -> None:
        from aftersales.parts import catalogue, purchasing, transfers
        from aftersales.parts.models import Batch
        from aftersales.workshop.models import RepairJob

        gz, sz = self.stores["gz"], self.stores["sz"]
        manager = self._staff_of(gz, "manager")
        suppliers = {
            cfg["key"]: purchasing.supplier_create(actor=manager, **{k: v for k, v in cfg.items() if k != "key"})
            for cfg in SUPPLIERS
        }
        parts: dict[str, Any] = {}
        by_code: dict[str, Any] = {}
        for (number, oem, zh, en, category, unit, cost, sale, months, tracking, supplier, aliases, code) in PARTS:
            parts[number] = catalogue.part_create(
                actor=manager, group=self.group, number=number, oem_number=oem, name_zh=zh, name_en=en,
                category=category, unit=unit, cost_price=cost, sale_price=sale, warranty_months=months,
                warranty_km=50_000 if category == "tyre" else None, tracking=tracking, is_oem=bool(oem),
                default_supplier=suppliers[supplier], aliases=[{"number": n, "brand": b} for n, b in aliases],
            )
            if code:
                by_code[code] = parts[number]
        self.part_batches: dict[tuple[int, int], list[Batch]] = {}
        for store in (gz, sz):
            self._stock(store, parts, suppliers)
        self._issue_to_open_orders(by_code)
        # the nightly sweep, run now: requisitions for everything below its minimum
        for store in (gz, sz):
            purchasing.reorder_run_now(actor=self._staff_of(store, "parts"), store=store)
        # the gz parts clerk orders the Toyota requisitions; the supplier delivers part of it
        clerk = self._staff_of(gz, "parts")
        toyota = [
            r.pk for r in purchasing.requisitions_for(clerk, gz).order_by("id")
            if r.part.default_supplier_id == suppliers["toyota"].pk
        ]
        if toyota:
            order = purchasing.purchase_order_create_from_requisitions(actor=clerk, store=gz, requisition_ids=toyota)[0]
            purchasing.purchase_order_send(actor=clerk, order=order)
            first = order.lines.order_by("id").first()
            if first is not None and first.quantity > 1:
                purchasing.purchase_order_receive(
                    actor=clerk, order=order, lines=[{"line_id": first.pk, "quantity": int(first.quantity // 2)}]
                )
        # a gz job waits for a part only sz has: the gz advisor asks for it
        job = (
            RepairJob.objects.filter(order__store=gz, order__status=OrderStatus.IN_PROGRESS).select_related("order")
            .order_by("order__opened_at", "id").first()
        )
        transfers.transfer_request(
            actor=self._staff_of(gz, "advisor"), from_store=sz, to_store=gz, part=parts[ONLY_AT_SZ[1]], quantity=2,
            for_job=job, note="检查发现前减震器漏油，客户同意更换，本店无货，请尽快调拨" if job is not None else "补货",
        )

    def _stock(self, store: Store, parts: dict[str, Any], suppliers: dict[str, Any]) -> None:
        from aftersales.parts import services
        from aftersales.parts.models import StockItem

        rng = self.rng
        clerk = self._staff_of(store, "parts")
        shelves: dict[str, int] = {}
        rules: list[tuple[Any, str, Decimal, Decimal]] = []
        for spec in PARTS:
            number, category, unit, cost, tracking, supplier = spec[0], spec[4], spec[5], spec[6], spec[9], spec[10]
            if store.code == "gz" and number in ONLY_AT_SZ:
                continue
            part = parts[number]
            if unit == "litre" and category in ("oil", "transmission"):
                base = rng.choice((80, 100, 120, 160, 200)) if number.startswith("0888") else rng.randint(20, 60)
            elif unit in ("litre", "kg"):
                base = rng.randint(8, 30)
            elif category == "filter":
                base = rng.randint(15, 40)
            elif category in ("tyre",):
                base = rng.choice((8, 12, 16, 20, 24))
            elif category in ("brake", "battery", "suspension"):
                base = rng.randint(4, 10)
            else:
                base = rng.randint(3, 15)
            short = number in SHORT[store.code]
            received = 2 if short else base
            receipts = [received] if received < 4 or rng.random() < 0.5 else [received // 2, received - received // 2]
            for n, qty in enumerate(receipts):
                unit_cost = q(Decimal(cost) * Decimal(str(round(rng.uniform(0.94, 1.06), 2))))
                batch: dict[str, Any] = {}
                if tracking == "batch":
                    produced = self.today - dt.timedelta(days=rng.randint(30, 300))
                    if category == "tyre":
                        lot = f"DOT{produced.isocalendar()[1]:02d}{produced.year % 100:02d}-{store.code.upper()}{n + 1}"
                    else:
                        lot = f"{number[:4]}{produced:%y%m%d}{store.code.upper()}{n + 1}"
                    batch = {"batch_number": lot, "origin": BATCH_ORIGIN[supplier], "production_date": produced,
                             "supplier": suppliers[supplier]}
                movement = services.stock_receive(
                    actor=clerk, store=store, part=part, quantity=qty, unit_cost=unit_cost,
                    reason=f"{suppliers[supplier].name} 送货单 {store.code.upper()}{rng.randrange(10**6):06d}", **batch,
                )
                if movement.batch_id:
                    self.part_batches.setdefault((store.pk, part.pk), []).append(movement.batch)
            aisle = AISLE.get(category, "N")
            shelves[aisle] = shelves.get(aisle, 0) + 1
            slot = shelves[aisle] - 1
            bin_location = f"{aisle}-{slot // 6 + 1:02d}-{slot % 6 + 1:02d}"
            if short:
                min_qty, max_qty = Decimal(max(6, base // 2)), Decimal(max(12, base + base // 2))
            else:
                min_qty = Decimal(max(1, base // 5))
                max_qty = Decimal(base + base // 3)
            rules.append((part, bin_location, min_qty, max_qty))
        items = {i.part_id: i for i in StockItem.objects.filter(store=store)}
        for part, bin_location, min_qty, max_qty in rules:
            item = items[part.pk]
            item.bin_location, item.min_qty, item.max_qty = bin_location, min_qty, max_qty
            item.lead_time_days = part.default_supplier.lead_time_days if part.default_supplier else None
        StockItem.objects.bulk_update(list(items.values()), ["bin_location", "min_qty", "max_qty", "lead_time_days"])

    def _issue_to_open_orders(self, by_code: dict[str, Any]) -> None:
        """The cars in the workshop: their jobs' parts are reserved; where work has started, the first job's parts are
        already issued (a car still waiting for its estimate keeps its parts reserved)."""
        from aftersales.common.errors import DomainError
        from aftersales.parts import services
        from aftersales.parts.choices import ReservationSource
        from aftersales.workshop.models import RepairLine

        lines = (
            RepairLine.objects.filter(job__order__store__group=self.group, job__order__status__in=IN_SHOP_STATES, kind=LineKind.PART)
            .select_related("job", "job__order", "job__order__store").order_by("job__order__opened_at", "job__seq", "id")
        )
        first_job: dict[int, int] = {}
        for line in lines:
            part = by_code.get(line.code)
            if part is None:
                continue
            job, store = line.job, line.job.order.store
            clerk = self._staff_of(store, "parts")
            if line.part_id is None:  # the estimate's line names the catalogue part it stands for
                RepairLine.objects.filter(pk=line.pk).update(part=part)
            first_job.setdefault(job.order_id, job.pk)
            try:
                services.reserve(actor=clerk, store=store, part=part, quantity=line.quantity, source=ReservationSource.JOB,
                                 reference=f"job:{job.pk}")
                if first_job[job.order_id] == job.pk and job.order.status == OrderStatus.IN_PROGRESS:
                    batches = self.part_batches.get((store.pk, part.pk)) or [None]
                    batch = next((b for b in batches if b is None or services.batch_on_hand(b, store) >= line.quantity), None)
                    if part.tracking != "none" and batch is None:
                        continue
                    services.counter_issue_to_job(actor=clerk, store=store, part=part, quantity=line.quantity, job=job,
                                                  batch=batch)
            except DomainError:  # not enough in stock here: the job waits (the reorder list shows it)
                continue

    # ---- stores and staff ----------------------------------------------------------------------------------
    def _store(self, cfg: dict[str, Any]) -> None:
        store = Store.objects.create(
            group=self.group,
            code=cfg["code"],
            name=cfg["name"],
            address=cfg["address"],
            phone=cfg["phone"],
            time_zone="Asia/Shanghai",
            directions=cfg["directions"],
        )
        periods = []
        for weekday in range(7):
            for opens, closes, kind in cfg["weekday"] if weekday < 5 else cfg["weekend"]:
                periods.append(
                    OpeningPeriod(store=store, weekday=weekday, opens=_t(opens), closes=_t(closes), kind=kind)
                )
        OpeningPeriod.objects.bulk_create(periods)
        Holiday.objects.bulk_create(
            Holiday(store=store, date=dt.date.fromisoformat(day), name=name, kind=kind)
            for day, name, kind in HOLIDAYS
        )
        self.closed |= {
            dt.date.fromisoformat(day) for day, _n, kind in HOLIDAYS if kind == HolidayKind.CLOSED
        }
        self.stores[cfg["code"]] = store

    def _staff(self) -> None:
        groups = {g.name: g for g in Group.objects.filter(name__in=list(ROLE_PERMISSIONS))}
        stores = list(self.stores.values())
        specs: list[tuple[str, str, str, list[str], list[Store]]] = [
            (ADMIN[0], ADMIN[1], ADMIN[2], [], stores)
        ]
        for i, store in enumerate(stores):
            suffix = "" if i == 0 else f".{store.code}"
            for stem, role, names, skills in STAFF:
                specs.append((f"{stem}{suffix}", role, names[i], [str(s) for s in skills], [store]))
        for username, role, display_name, skills, member_of in specs:
            user = User.objects.create(
                username=username,
                password=make_password(DEMO_PASSWORD),  # a salt of its own for every account
                is_demo=True,  # the published password works from this machine only
                display_name=display_name,
                first_name=display_name[1:],
                last_name=display_name[0],
                phone=self._mobile(),
                dealer_group=self.group,
                skills=skills,
                is_staff=role == Role.GROUP_ADMIN,
                is_superuser=role == Role.GROUP_ADMIN,
            )
            user.groups.add(groups[role])
            StoreMembership.objects.bulk_create(
                StoreMembership(user=user, store=store, is_primary=n == 0)
                for n, store in enumerate(member_of)
            )
            self.users[username] = user
        # fresh objects: permission caches start empty and see the groups just added
        self.users = {u.username: u for u in User.objects.filter(pk__in=[u.pk for u in self.users.values()])}
        self.users_by_id = {u.pk: u for u in self.users.values()}

    def _staff_of(self, store: Store, stem: str) -> User:
        suffix = "" if store.code == STORES[0]["code"] else f".{store.code}"
        return self.users[f"{stem}{suffix}"]

    def _advisors(self, store: Store) -> list[User]:
        return [self._staff_of(store, stem) for stem in ("advisor", "advisor2", "advisor3")]

    # ---- customers -----------------------------------------------------------------------------------------
    def _plans(self) -> list[_Plan]:
        gz, sz = self.stores["gz"], self.stores["sz"]
        counts = [
            ("frequent", 28),
            ("regular", 105),
            ("lapsed", 36),
            ("new", 14),
            ("dormant", 4),
            ("buyer", 3),
            ("novehicle", 5),
            ("noplate", 5),
        ]
        plans = []
        for profile, n in counts:
            for _ in range(n):
                plans.append(_Plan(profile=profile, store=gz if self.rng.random() < 0.58 else sz))
        # 300 vehicles in all: 3 come through transfers to the buyers, the rest are spread over the owners
        owners = [p for p in plans if p.profile in ("frequent", "regular", "lapsed", "dormant")]
        extra = 300 - sum(1 for p in plans if p.profile not in ("buyer", "novehicle"))
        while extra > 0:
            plan = self.rng.choice(owners)
            limit = 3 if plan.profile == "frequent" else 2
            if plan.vehicles < limit:
                plan.vehicles += 1
                extra -= 1
        for plan in plans:
            if plan.profile in ("buyer", "novehicle"):
                plan.vehicles = 0
        self.rng.shuffle(plans)
        return plans

    def _mobile(self) -> str:
        while True:
            raw = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(100_000_000):08d}"
            e164 = normalize_mobile(raw)
            if e164 not in self.mobiles:
                self.mobiles.add(e164)
                return e164

    def _name(self) -> tuple[str, str]:
        for _ in range(50):
            male = self.rng.random() < 0.62
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
            if name not in self.names:
                break
        self.names.add(name)
        return name, Title.MR if male else Title.MS

    def _address(self, store: Store) -> str:
        district, roads = self.rng.choice(ADDRESSES[store.code])
        estate = self.rng.choice(
            ("天悦", "金碧", "翠湖", "锦绣", "华景", "星河", "碧桂", "富力", "保利", "万科")
        )
        return (
            f"{district}{self.rng.choice(roads)}{self.rng.randint(1, 999)}号"
            f"{estate}{self.rng.choice(BUILDINGS)}"
            f"{self.rng.randint(1, 12)}栋{self.rng.randint(2, 32)}{self.rng.randint(1, 8):02d}室"
        )

    def _customer(self, plan: _Plan) -> dict[str, Any]:
        rng, store = self.rng, plan.store
        advisors = self._advisors(store)
        actor = rng.choice(advisors)
        name, title = self._name()
        joined = self._joined(plan)
        data: dict[str, Any] = {
            "name": name,
            "title": title,
            "mobile": self._mobile(),
            "preferred_channel": rng.choices(
                [Channel.WECHAT, Channel.SMS, Channel.PHONE, Channel.APP], weights=[50, 30, 12, 8]
            )[0],
        }
        if rng.random() < 0.35:
            data["email"] = f"{rng.randrange(10_000_000, 3_000_000_000)}@{rng.choice(EMAIL_DOMAINS)}"
        if rng.random() < 0.7:
            data["address"] = self._address(store)
        if rng.random() < 0.6:
            data["birthday"] = dt.date(rng.randint(1962, 2001), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < 0.45:
            data["preferences"] = "；".join(rng.sample(PREFERENCES, rng.choice((1, 1, 2))))
        if rng.random() < 0.6:
            data["preferred_advisor"] = rng.choice(advisors)
        consents = [
            {
                "purpose": ConsentPurpose.SERVICE,
                "channel": Channel.SMS,
                "granted": True,
                "source": ConsentSource.IN_STORE,
                "at": joined,
            },
        ]
        if data["preferred_channel"] == Channel.WECHAT or rng.random() < 0.3:
            consents.append(
                {
                    "purpose": ConsentPurpose.SERVICE,
                    "channel": Channel.WECHAT,
                    "granted": True,
                    "source": ConsentSource.WECHAT,
                    "at": joined + dt.timedelta(minutes=5),
                }
            )
        if rng.random() < 0.55:
            channel = rng.choice((Channel.SMS, Channel.WECHAT))
            consents.append(
                {
                    "purpose": ConsentPurpose.MARKETING,
                    "channel": channel,
                    "granted": True,
                    "source": rng.choice(
                        (ConsentSource.IN_STORE, ConsentSource.PORTAL, ConsentSource.WECHAT)
                    ),
                    "at": joined + dt.timedelta(minutes=6),
                }
            )
        customer = customer_create(actor=actor, store=store, consents=consents, **data)
        marketing = [c for c in consents if c["purpose"] == ConsentPurpose.MARKETING]
        if marketing and rng.random() < 0.15:
            withdrawn = joined + dt.timedelta(
                days=rng.randint(20, max(21, (self.today - joined.date()).days - 1))
            )
            consent_record(
                actor=self._staff_of(store, "callcentre"),
                customer=customer,
                purpose=ConsentPurpose.MARKETING,
                channel=marketing[0]["channel"],
                granted=False,
                source=ConsentSource.OPT_OUT,
                at=min(withdrawn, self.now - dt.timedelta(hours=1)),
                note="回复TD退订",
            )
        if rng.random() < 0.18:
            customer.tags.add(rng.choice(self.tags))
        self.customers.append(customer)
        story: dict[str, Any] = {"plan": plan, "customer": customer, "joined": joined, "vehicles": []}
        if plan.profile == "novehicle":
            self.incomplete += 1
        for n in range(plan.vehicles):
            story["vehicles"].append(self._vehicle(story, actor, first=n == 0))
        return story

    def _joined(self, plan: _Plan) -> dt.datetime:
        """When the customer first came in (purchase or first visit): consents are dated then."""
        if plan.profile in ("new", "noplate"):
            days = self.rng.randint(12, 55)
        else:
            days = self.rng.randint(HISTORY_DAYS + 30, HISTORY_DAYS + 1500)
        day = self.today - dt.timedelta(days=days)
        return self._at(plan.store, day, dt.time(10, 0))

    def _at(self, store: Store, day: dt.date, at: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, at, tzinfo=store.zone)

    def _plate(self, store: Store, fuel: str) -> str:
        prefix = self.store_cfg[store.code]["plate_prefix"]
        while True:
            if fuel in (FuelType.EV, FuelType.PHEV):
                energy = "D" if fuel == FuelType.EV else "F"
                tail = self.rng.choice(PLATE_LETTERS + "0123456789") + f"{self.rng.randrange(10_000):04d}"
                plate = f"{prefix}{energy}{tail}"
            else:
                chars = [str(self.rng.randrange(10)) for _ in range(5)]
                for pos in self.rng.sample(range(5), self.rng.choice((0, 1, 1, 2))):
                    chars[pos] = self.rng.choice(PLATE_LETTERS)
                plate = prefix + "".join(chars)
            plate = normalize_plate(plate)
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def _vehicle(self, story: dict[str, Any], actor: User, *, first: bool) -> dict[str, Any]:
        rng, plan, customer = self.rng, story["plan"], story["customer"]
        make, model, wmi, vds, fuel, (low, high), price_class, oil, _w = rng.choices(
            CATALOGUE, weights=[c[8] for c in CATALOGUE]
        )[0]
        if plan.profile in ("new", "noplate") and first:
            purchased = story["joined"].date()
        else:
            purchased = self.today - dt.timedelta(days=rng.randint(200, 7 * 365))
            since = dt.date(MODEL_SINCE.get(model, 2018), rng.randint(1, 6), rng.randint(1, 28))
            purchased = max(purchased, min(since, self.today - dt.timedelta(days=200)))
        year = min(max(purchased.year - (1 if purchased.month < 4 and rng.random() < 0.5 else 0), 2018), 2026)
        vin = make_demo_vin(rng, wmi, vds, year, rng.choice("ABCDEFGHJ"))
        no_plate = plan.profile == "noplate" and first
        sold_here = rng.random() < 0.65
        warranty_years = 8 if fuel == FuelType.EV and rng.random() < 0.3 else 3
        insured_until = _add_years(purchased, self.today.year - purchased.year)
        if insured_until < self.today - dt.timedelta(days=20):
            insured_until = _add_years(purchased, self.today.year + 1 - purchased.year)
        data = {
            "vin": vin,
            "plate": "" if no_plate else self._plate(plan.store, fuel),
            "make": make,
            "model": model,
            "year": year,
            "colour": rng.choice(COLOURS),
            "fuel_type": fuel,
            "purchase_date": purchased,
            "purchase_price": Decimal(rng.randrange(low, high, 100)).quantize(Decimal("0.01")),
            "selling_store": plan.store if sold_here else None,
            "insurance_company": rng.choice(INSURERS),
            "insurance_expiry": insured_until,
            "warranty_start": purchased,
            "warranty_end": _add_years(purchased, warranty_years),
        }
        if rng.random() < 0.04:  # some records were taken without insurance details
            data.pop("insurance_company")
            data.pop("insurance_expiry")
        annual = rng.choice((8_000, 10_000, 12_000, 15_000, 18_000, 22_000))
        if plan.profile == "frequent" and (self.today - purchased).days < 3 * 365 and rng.random() < 0.4:
            annual = rng.choice((40_000, 60_000))  # ride-hailing driver
        mileage = None
        if plan.profile == "dormant":  # never visited: the odometer as reported at purchase follow-up
            mileage = max(8, int((self.today - purchased).days * annual / 365))
        vehicle = vehicle_create(actor=actor, owner=customer, mileage=mileage, confirm_plate=True, **data)
        if no_plate:
            self.incomplete += 1
        self.vehicles.append(vehicle)
        return {
            "vehicle": vehicle,
            "purchased": purchased,
            "daily_km": annual / 365,
            "oil": Decimal(str(oil)),
            "price_class": Decimal(str(price_class)),
            "fuel": fuel,
            "km_at_last_major": 0,
        }

    # ---- transfers: a few vehicles are sold to another customer half-way through the year ------------------
    def _pick_transfers(self, stories: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        buyers = [s for s in stories if s["plan"].profile == "buyer"]
        sellers = [s for s in stories if s["plan"].profile == "regular" and len(s["vehicles"]) >= 2]
        out: dict[int, dict[str, Any]] = {}
        for buyer, seller in zip(buyers, self.rng.sample(sellers, len(buyers)), strict=True):
            vehicle_story = seller["vehicles"][-1]
            on_date = max(
                self.today - dt.timedelta(days=self.rng.randint(120, 220)),
                vehicle_story["purchased"] + dt.timedelta(days=30),
            )
            out[vehicle_story["vehicle"].pk] = {"buyer": buyer, "on": on_date}
        return out

    # ---- service history -----------------------------------------------------------------------------------
    def _visit_days(self, plan: _Plan, purchased: dt.date) -> list[dt.date]:
        rng, today = self.rng, self.today
        last = today - dt.timedelta(days=1)
        if plan.profile in ("dormant", "novehicle", "buyer"):
            return []
        if plan.profile == "noplate":
            return [purchased + dt.timedelta(days=rng.randint(3, 8))] if rng.random() < 0.6 else []
        if plan.profile == "new":
            return [min(purchased + dt.timedelta(days=rng.randint(5, 30)), last)]
        gap = {"frequent": (55, 95), "regular": (95, 175), "lapsed": (80, 140)}[plan.profile]
        first = max(
            self.start + dt.timedelta(days=rng.randint(0, gap[1] - 20)), purchased + dt.timedelta(days=20)
        )
        stop = today - dt.timedelta(days=200) if plan.profile == "lapsed" else last
        days = []
        day = first
        while day <= stop:
            days.append(day)
            day += dt.timedelta(days=rng.randint(*gap))
        if not days:
            days = [min(first, stop)]
        return days

    def _history(self, story: dict[str, Any], vs: dict[str, Any], transfer: dict[str, Any] | None) -> None:
        plan = story["plan"]
        vehicle: Vehicle = vs["vehicle"]
        days = self._visit_days(plan, vs["purchased"])
        if transfer is not None:  # after the sale the buyer brings the car in (to their own store)
            buyer_plan = transfer["buyer"]["plan"]
            days = [d for d in days if d < transfer["on"]]
            buyer_days = [transfer["on"] + dt.timedelta(days=self.rng.randint(3, 15))]
            while (nxt := buyer_days[-1] + dt.timedelta(days=self.rng.randint(90, 150))) < self.today:
                buyer_days.append(nxt)
        km = 0
        for day in days:
            km = self._visit(story["customer"], plan.store, vs, day, km)
        if transfer is not None:
            buyer = transfer["buyer"]["customer"]
            vehicle_transfer(
                actor=self._staff_of(buyer_plan.store, "advisor"),
                vehicle=vehicle,
                new_owner=buyer,
                on_date=transfer["on"],
                reason="二手车过户",
            )
            vehicle.refresh_from_db()
            for day in buyer_days:
                km = self._visit(buyer, buyer_plan.store, vs, day, km)

    def _visit(self, customer: Customer, home: Store, vs: dict[str, Any], day: dt.date, km: int) -> int:
        rng = self.rng
        while day in self.closed:
            day += dt.timedelta(days=1)
        if day >= self.today:
            return km
        store = home if rng.random() > 0.08 else self.stores["sz" if home.code == "gz" else "gz"]
        vehicle: Vehicle = vs["vehicle"]
        vs["days_since"] = (day - vs["last_visit"]).days if vs.get("last_visit") else 90
        if km == 0:
            km = int((day - vs["purchased"]).days * vs["daily_km"]) + rng.randint(5, 60)
        else:
            km += int(vs.get("days_since", 90) * vs["daily_km"] * rng.uniform(0.8, 1.2))
        opened = self._opened_at(store, day)
        jobs, complaint, long_job = self._jobs(store, vs, km, day)
        advisor = self.users_by_id.get(customer.preferred_advisor_id) if store == home else None
        advisor = advisor or rng.choice(self._advisors(store))
        ready = opened + (
            dt.timedelta(days=1, hours=rng.randint(0, 3))
            if long_job
            else dt.timedelta(minutes=rng.randint(80, 240))
        )
        in_shop = ready > self.now - dt.timedelta(minutes=30)
        delivered = ready + dt.timedelta(minutes=rng.randint(10, 40))
        # whether the car is still in the workshop depends on the hour the demo is loaded: the payment draws from a
        # generator of its own, so the rest of the data set is the same at any hour (issue 14, item 0)
        pay_rng = random.Random(rng.random())
        order = repair_order_record_visit(
            actor=advisor,
            store=store,
            customer=customer,
            vehicle=vehicle,
            opened_at=opened,
            jobs=jobs,
            advisor=advisor,
            mileage=km,
            complaint=complaint,
            delivered_at=None if in_shop else delivered,
        )
        self.orders += 1
        vs["last_visit"] = day
        if in_shop:
            self._under_way(order, advisor, opened)
            return km  # still in the workshop
        invoice = invoice_issue(actor=advisor, order=order, at=ready)
        self.invoices += 1
        self._pay(store, invoice, ready + dt.timedelta(minutes=pay_rng.randint(2, 8)), day, pay_rng)
        return km

    def _under_way(self, order: Any, advisor: User, opened: dt.datetime) -> None:
        """A car still in the workshop: estimate sent and approved, work started (through the real state moves)."""
        step = dt.timedelta(minutes=10)
        repair_order_move(actor=advisor, order=order, to=OrderStatus.ESTIMATE_SENT, at=opened + step)
        for job in order.jobs.all():
            repair_job_move(actor=advisor, job=job, to=JobStatus.AUTHORIZED, reason=coded(gettext_noop("Approved by phone")), at=opened + 2 * step)
        repair_order_move(actor=advisor, order=order, to=OrderStatus.AUTHORIZED, at=opened + 2 * step)
        repair_order_move(actor=advisor, order=order, to=OrderStatus.IN_PROGRESS, at=opened + 3 * step)

    def _opened_at(self, store: Store, day: dt.date) -> dt.datetime:
        rng = self.rng
        if day.weekday() >= 5:
            minutes = rng.randint(9 * 60, 15 * 60)
        elif rng.random() < 0.18:
            minutes = rng.randint(18 * 60, 19 * 60 + 30)  # evening slot
        else:
            minutes = rng.randint(8 * 60 + 30, 16 * 60)
        minutes -= minutes % 5
        return self._at(store, day, dt.time(minutes // 60, minutes % 60))

    def _pay(self, store: Store, invoice: Any, at: dt.datetime, day: dt.date, rng: random.Random) -> None:
        cashier = self._staff_of(store, "cashier")
        recent = (self.today - day).days < 75
        if recent and rng.random() < 0.05:
            return  # left unpaid (company account, customer to transfer later)
        method = rng.choices(
            [PaymentMethod.WECHAT, PaymentMethod.ALIPAY, PaymentMethod.CARD, PaymentMethod.CASH],
            weights=[42, 25, 23, 10],
        )[0]
        amounts = [invoice.total]
        if invoice.total > 1500 and rng.random() < 0.12:  # split: part by card, the rest by WeChat Pay
            first = q(invoice.total * Decimal(rng.choice(("0.5", "0.6", "0.3"))))
            amounts = [first, invoice.total - first]
        partial = recent and rng.random() < 0.03 and len(amounts) == 1
        if partial:
            amounts = [q(invoice.total * Decimal("0.5"))]
        for n, amount in enumerate(amounts):
            this_method = method if n == 0 else PaymentMethod.WECHAT
            if len(amounts) > 1 and n == 0:
                this_method = PaymentMethod.CARD
            payment_record(
                actor=cashier,
                invoice=invoice,
                method=this_method,
                amount=amount,
                idempotency_key=f"demo-{invoice.number}-{n}",
                reference=self._reference(this_method, at, rng),
                at=at + dt.timedelta(minutes=n),
            )
        if not partial:
            self.paid += 1

    def _reference(self, method: str, at: dt.datetime, rng: random.Random) -> str:
        stamp = timezone.localtime(at).strftime("%Y%m%d")
        if method == PaymentMethod.WECHAT:
            return f"4200002{rng.randrange(10**3):03d}{stamp}{rng.randrange(10**10):010d}"
        if method == PaymentMethod.ALIPAY:
            return f"{stamp}22001{rng.randrange(10**15):015d}"
        if method == PaymentMethod.CARD:
            return (
                f"POS {rng.choice(('6222', '6228', '6217', '6225'))}****{rng.randrange(10**4):04d}"
            )
        return ""

    def _open_orders(self, stories: list[dict[str, Any]]) -> None:
        """A few cars are in the workshop right now (opened this morning, not yet delivered)."""
        candidates = [
            s
            for s in stories
            if s["plan"].profile in ("regular", "frequent")
            and s["vehicles"]
            and all(
                v.get("last_visit", self.start) < self.today - dt.timedelta(days=30) for v in s["vehicles"]
            )
        ]
        # two at each store, the first of them already being worked on, whatever the hour the demo is loaded
        picked = [
            (n, story)
            for code in sorted(self.stores)
            for n, story in enumerate(self.rng.sample([s for s in candidates if s["plan"].store.code == code], 2))
        ]
        for n, story in picked:
            vs = story["vehicles"][0]
            store = story["plan"].store
            opened = self.now - dt.timedelta(minutes=self.rng.randint(40, 150))
            km = vs["vehicle"].current_mileage or int((self.today - vs["purchased"]).days * vs["daily_km"])
            km += int((self.today - vs.get("last_visit", self.today)).days * vs["daily_km"]) + 1
            jobs, complaint, _long = self._jobs(store, vs, km, self.today)
            advisor = self._staff_of(store, "advisor")
            order = repair_order_record_visit(
                actor=advisor,
                store=store,
                customer=story["customer"],
                vehicle=vs["vehicle"],
                opened_at=opened,
                jobs=jobs,
                advisor=advisor,
                mileage=km,
                complaint=complaint,
            )
            if n == 0:
                self._under_way(order, advisor, opened)
            self.orders += 1

    # ---- jobs and prices -----------------------------------------------------------------------------------
    def _jobs(
        self, store: Store, vs: dict[str, Any], km: int, day: dt.date
    ) -> tuple[list[dict[str, Any]], str, bool]:
        rng = self.rng
        rate = self.store_cfg[store.code]["labour_rate"]
        k = vs["price_class"]
        techs = {stem: self._staff_of(store, stem) for stem in ("tech", "tech2", "tech3", "tech4", "foreman")}
        electric = vs["fuel"] == FuelType.EV

        def price(base: int) -> Decimal:
            return Decimal(int(base * k)).quantize(Decimal("0.01"))

        def labour(desc: str, hours: str, code: str = "") -> dict[str, Any]:
            return {
                "kind": LineKind.LABOUR,
                "code": code,
                "description": desc,
                "quantity": hours,
                "unit_price": rate,
            }

        def part(desc: str, qty: Any, base: int, code: str) -> dict[str, Any]:
            return {
                "kind": LineKind.PART,
                "code": code,
                "description": desc,
                "quantity": str(qty),
                "unit_price": price(base),
            }

        def fee(desc: str, amount: int) -> dict[str, Any]:
            return {"kind": LineKind.FEE, "description": desc, "quantity": "1", "unit_price": price(amount)}

        jobs: list[dict[str, Any]] = []
        words: list[str] = []
        long_job = False
        if electric:
            jobs.append(
                {
                    "job_type": JobType.MAINTENANCE,
                    "title": both("电动车定期保养（三电系统检测）", "EV periodic service (battery, motor and controls check)"),
                    "technician": techs["tech2"],
                    "lines": [
                        labour(both("三电系统检测及常规保养工时", "EV systems check and service labour"), "1.00", "LAB-EV"),
                        part(both("空调滤芯（活性炭）", "Cabin filter (activated carbon)"), 1, 128, "FLT-CABIN"),
                        fee(both("高压系统绝缘检测", "High-voltage insulation test"), 150),
                    ],
                }
            )
            words.append("定期保养")
        else:
            major = km - vs["km_at_last_major"] >= 9_000
            oil_lines = [
                part(both("全合成机油 0W-20", "Full synthetic engine oil 0W-20"), vs["oil"], 88, "OIL-0W20"),
                part(both("机油滤清器", "Oil filter"), 1, 68, "FLT-OIL"),
                part(both("放油螺栓垫片", "Drain plug washer"), 1, 8, "WSH-DRAIN"),
            ]
            if major:
                vs["km_at_last_major"] = km
                jobs.append(
                    {
                        "job_type": JobType.MAINTENANCE,
                        "title": both(f"{round(km, -4) or 10000:,}公里大保养", f"{round(km, -4) or 10000:,} km major service"),
                        "technician": rng.choice((techs["tech"], techs["tech4"])),
                        "lines": [
                            labour(both("大保养工时", "Major service labour"), "1.50", "LAB-MAJ"),
                            *oil_lines,
                            part(both("空气滤清器", "Air filter"), 1, 118, "FLT-AIR"),
                            part(both("空调滤芯", "Cabin filter"), 1, 108, "FLT-CABIN"),
                        ],
                    }
                )
                words.append("常规大保养")
            else:
                jobs.append(
                    {
                        "job_type": JobType.MAINTENANCE,
                        "title": both("5,000公里小保养（更换机油机滤）", "5,000 km minor service (oil and filter)"),
                        "technician": rng.choice((techs["tech"], techs["tech4"])),
                        "lines": [labour(both("小保养工时", "Minor service labour"), "0.80", "LAB-MIN"), *oil_lines],
                    }
                )
                words.append("常规小保养")
        if km > 30_000 and rng.random() < 0.14:
            jobs.append(
                {
                    "job_type": JobType.REPAIR,
                    "title": both("更换前刹车片", "Replace front brake pads"),
                    "technician": techs["tech"],
                    "cause": "前刹车片剩余厚度约2mm",
                    "correction": "更换前刹车片，清洁制动卡钳",
                    "lines": [
                        labour(both("更换前刹车片工时", "Front brake pads labour"), "1.00", "LAB-BRK"),
                        part(both("前刹车片（一套）", "Front brake pads (set)"), 1, 620, "BRK-PAD-F"),
                    ],
                }
            )
            words.append("刹车有异响")
        if km > 35_000 and rng.random() < 0.08:
            n = rng.choice((2, 4))
            jobs.append(
                {
                    "job_type": JobType.REPAIR,
                    "title": both(f"更换轮胎×{n}及四轮定位", f"Replace {n} tyres and wheel alignment"),
                    "technician": techs["tech4"],
                    "lines": [
                        part(both("米其林 Primacy 4 225/55R17 轮胎", "Michelin Primacy 4 225/55R17 tyre"), n, 980, "TYR-22555R17"),
                        fee(both("轮胎动平衡", "Wheel balancing"), 30 * n),
                        fee(both("四轮定位", "Wheel alignment"), 260),
                        labour(both("拆装轮胎工时", "Tyre fitting labour"), "0.50", "LAB-TYR"),
                    ],
                }
            )
            words.append("轮胎磨损严重")
        if day.month in (5, 6, 7, 8, 9) and rng.random() < 0.25:
            jobs.append(
                {
                    "job_type": JobType.REPAIR,
                    "title": both("空调系统清洗及加注冷媒", "A/C cleaning and refrigerant recharge"),
                    "technician": techs["tech2"],
                    "lines": [
                        labour(both("空调系统检测清洗工时", "A/C check and cleaning labour"), "0.80", "LAB-AC"),
                        part(both("空调清洗剂", "A/C cleaner"), 1, 98, "AC-CLEAN"),
                        part(both("R134a 冷媒（kg）", "R134a refrigerant (kg)"), "0.50", 160, "AC-R134A"),
                    ],
                }
            )
            words.append("空调不凉")
        if not electric and (day - vs["purchased"]).days > 3 * 365 and rng.random() < 0.07:
            jobs.append(
                {
                    "job_type": JobType.REPAIR,
                    "title": both("更换蓄电池", "Replace battery"),
                    "technician": techs["tech2"],
                    "cause": "蓄电池检测健康度低于40%",
                    "correction": "更换蓄电池并清除故障码",
                    "lines": [
                        part(both("瓦尔塔蓄电池 12V 60Ah", "Varta battery 12V 60Ah"), 1, 680, "BAT-60AH"),
                        labour(both("更换蓄电池工时", "Battery replacement labour"), "0.30", "LAB-BAT"),
                    ],
                }
            )
            words.append("早上启动困难")
        if rng.random() < 0.08:
            jobs.append(
                {
                    "job_type": JobType.INSPECTION,
                    "title": both("故障灯亮，电脑诊断", "Warning light on: scan-tool diagnosis"),
                    "technician": techs["foreman"],
                    "cause": "进气温度传感器信号异常",
                    "correction": "清洁传感器插头，清除故障码，路试正常",
                    "lines": [fee(both("电脑故障诊断", "Scan-tool diagnosis"), 200), labour(both("诊断工时", "Diagnosis labour"), "0.50", "LAB-DIAG")],
                }
            )
            words.append("仪表故障灯亮")
        if rng.random() < 0.12:
            jobs.append(
                {
                    "job_type": JobType.REPAIR,
                    "title": both("更换雨刮片", "Replace wiper blades"),
                    "technician": techs["tech"],
                    "lines": [part(both("无骨雨刮片（一对）", "Frameless wiper blades (pair)"), 1, 168, "WPR-PAIR")],
                }
            )
        if rng.random() < 0.05:
            long_job = True
            jobs.append(
                {
                    "job_type": JobType.REPAIR,
                    "title": both("前保险杠钣金喷漆", "Front bumper panel and paint repair"),
                    "technician": techs["tech3"],
                    "cause": "停车时刮擦，前保险杠左侧凹陷掉漆",
                    "correction": "钣金修复，喷漆一面",
                    "lines": [
                        labour(both("钣金工时", "Panel beating labour"), "3.00", "LAB-BODY"),
                        fee(both("喷漆（一面）", "Paint (one panel)"), 900),
                        part(both("前保险杠左下饰条", "Front bumper lower left trim"), 1, 260, "BMP-TRIM-L"),
                    ],
                }
            )
            words.append("前保险杠刮擦")
        if rng.random() < 0.1:  # loyal-customer discount on the first labour line
            for line in jobs[0]["lines"]:
                if line["kind"] == LineKind.LABOUR:
                    line["discount"] = q(Decimal(line["quantity"]) * line["unit_price"] * Decimal("0.1"))
                    break
        return jobs, "，".join(words), long_job


def both(zh: str, en: str) -> str:
    """A name the demo writes in both languages ("更换前刹车片 / Replace front brake pads"): each screen, document and
    message shows the reader's half (``common.names``), as the catalogue's and the labour guide's names do."""
    return f"{zh} / {en}"


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
