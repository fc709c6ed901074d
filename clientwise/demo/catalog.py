"""The fixed world the demo simulation draws from: places, names, catalog, co-purchase rules, staff.

Plain data only (no Django, no randomness), so the generator stays readable and the tests can refer to it.
Prices are in fen (1/100 CNY) to keep money exact as integers until it is written.
"""

from __future__ import annotations

# Regions → branches → cities. A branch is an office that covers a few cities; every city has a store.
# (region code, region name, [(branch code, branch name, [(province, city, weight, urban share, stores)])])
REGIONS: list[tuple[str, str, list[tuple[str, str, list[tuple[str, str, float, float, int]]]]]] = [
    ("EC", "华东", [
        ("SH", "上海", [("上海", "上海", 10, 0.92, 3), ("江苏", "苏州", 5, 0.78, 1), ("江苏", "南京", 5, 0.85, 1),
                        ("江苏", "盐城", 2, 0.55, 1)]),
        ("HZ", "杭州", [("浙江", "杭州", 7, 0.82, 2), ("浙江", "宁波", 4, 0.74, 1), ("浙江", "温州", 3, 0.68, 1),
                        ("安徽", "合肥", 4, 0.72, 1), ("安徽", "阜阳", 2, 0.40, 1)]),
    ]),
    ("NC", "华北", [
        ("BJ", "北京", [("北京", "北京", 10, 0.88, 3), ("河北", "石家庄", 4, 0.62, 1), ("河北", "保定", 3, 0.50, 1)]),
        ("TJ", "天津", [("天津", "天津", 6, 0.84, 2), ("山西", "太原", 3, 0.70, 1),
                        ("内蒙古", "呼和浩特", 2, 0.68, 1), ("山东", "济南", 4, 0.72, 1), ("山东", "临沂", 2, 0.45, 1)]),
    ]),
    ("SC", "华南", [
        ("GZ", "广州", [("广东", "广州", 9, 0.86, 2), ("广东", "佛山", 4, 0.80, 1), ("广东", "东莞", 4, 0.82, 1),
                        ("广西", "南宁", 3, 0.63, 1), ("广西", "桂林", 1, 0.48, 1)]),
        ("SZ", "深圳", [("广东", "深圳", 9, 0.99, 2), ("福建", "厦门", 3, 0.89, 1), ("福建", "福州", 3, 0.72, 1),
                        ("海南", "海口", 2, 0.80, 1)]),
    ]),
    ("CC", "华中", [
        ("WH", "武汉", [("湖北", "武汉", 7, 0.84, 2), ("湖北", "宜昌", 2, 0.60, 1), ("河南", "郑州", 6, 0.79, 1),
                        ("河南", "南阳", 2, 0.42, 1)]),
        ("CS", "长沙", [("湖南", "长沙", 5, 0.83, 1), ("湖南", "衡阳", 2, 0.52, 1), ("江西", "南昌", 3, 0.78, 1),
                        ("江西", "赣州", 2, 0.48, 1)]),
    ]),
    ("SW", "西南", [
        ("CD", "成都", [("四川", "成都", 9, 0.80, 2), ("四川", "绵阳", 2, 0.52, 1), ("四川", "南充", 2, 0.46, 1),
                        ("云南", "昆明", 4, 0.76, 1)]),
        ("CQ", "重庆", [("重庆", "重庆", 8, 0.70, 2), ("贵州", "贵阳", 3, 0.72, 1), ("贵州", "遵义", 2, 0.50, 1)]),
    ]),
]

DISTRICTS = ["城关区", "新城区", "东城区", "西城区", "南湖区", "北苑区", "高新区", "经开区"]

CHANNELS = [("STORE", "门店", "store"), ("WEB", "官网商城", "web"), ("APP", "会员App", "app"),
            ("PHONE", "电话订购", "phone"), ("PARTNER", "合作渠道", "partner")]
CHANNEL_WEIGHTS = [0.56, 0.17, 0.15, 0.05, 0.07]

# Categories: (code, name, parent code, replenishable, cycle days)
CATEGORIES: list[tuple[str, str, str | None, bool, int | None]] = [
    ("DIGI", "数码", None, False, None),
    ("MOMBABY", "母婴", None, False, None),
    ("OFFICE", "办公", None, False, None),
    ("HOME", "家居日化", None, False, None),
    ("APPL", "家电", None, False, None),
    ("PHONE", "手机", "DIGI", False, None),
    ("TABLET", "平板电脑", "DIGI", False, None),
    ("CASE", "手机壳", "DIGI", False, None),
    ("SCREEN", "钢化膜", "DIGI", False, None),
    ("CHARGER", "充电器", "DIGI", False, None),
    ("EARPHONE", "耳机", "DIGI", False, None),
    ("FORMULA", "奶粉", "MOMBABY", True, 30),
    ("DIAPER", "纸尿裤", "MOMBABY", True, 21),
    ("WIPES", "湿巾", "MOMBABY", True, 30),
    ("BOTTLE", "奶瓶", "MOMBABY", False, None),
    ("PRINTER", "打印机", "OFFICE", False, None),
    ("INK", "墨盒", "OFFICE", True, 60),
    ("PAPER", "打印纸", "OFFICE", True, 45),
    ("DETERGENT", "洗衣液", "HOME", True, 45),
    ("SOFTENER", "柔顺剂", "HOME", True, 60),
    ("TISSUE", "纸巾", "HOME", True, 30),
    ("PURIFIER", "净水器", "APPL", False, None),
    ("FILTER", "滤芯", "APPL", True, 180),
    ("RICECOOKER", "电饭煲", "APPL", False, None),
]
LEAF_CATEGORIES = [c[0] for c in CATEGORIES if c[2] is not None]

# Products: (sku, category, brand, model, name, list price fen, unit cost fen, attributes, weight)
PRODUCTS: list[tuple[str, str, str, str, str, int, int, dict, float]] = [
    ("PH-HW-P70", "PHONE", "华为", "P70", "华为 P70 5G 256G", 549900, 438000, {"network": "5G", "storage": "256G"}, 3),
    ("PH-HW-N12", "PHONE", "华为", "nova 12", "华为 nova 12 5G", 299900, 231000, {"network": "5G", "storage": "256G"}, 4),
    ("PH-XM-14", "PHONE", "小米", "14", "小米 14 5G", 399900, 322000, {"network": "5G", "storage": "256G"}, 4),
    ("PH-XM-RN13", "PHONE", "小米", "Redmi Note 13", "Redmi Note 13 5G", 119900, 92000, {"network": "5G", "storage": "128G"}, 6),
    ("PH-OP-R9", "PHONE", "OPPO", "A2x", "OPPO A2x 4G", 99900, 79000, {"network": "4G", "storage": "128G"}, 4),
    ("PH-AP-15", "PHONE", "Apple", "iPhone 15", "Apple iPhone 15 128G", 599900, 497000, {"network": "5G", "storage": "128G"}, 3),
    ("PH-VV-Y36", "PHONE", "vivo", "Y36", "vivo Y36 4G", 129900, 101000, {"network": "4G", "storage": "128G"}, 3),
    ("TB-HW-M11", "TABLET", "华为", "MatePad 11", "华为 MatePad 11", 249900, 196000, {"screen": "11英寸"}, 3),
    ("TB-AP-IPAD", "TABLET", "Apple", "iPad 10", "Apple iPad 第10代", 359900, 298000, {"screen": "10.9英寸"}, 2),
    ("TB-XM-P6", "TABLET", "小米", "Pad 6", "小米平板 6", 199900, 158000, {"screen": "11英寸"}, 3),
    ("CS-SIL", "CASE", "倍思", "硅胶", "倍思 硅胶手机壳", 4900, 1200, {"material": "硅胶"}, 5),
    ("CS-LTH", "CASE", "倍思", "皮革", "倍思 皮革手机壳", 9900, 3000, {"material": "皮革"}, 2),
    ("CS-CLR", "CASE", "品胜", "透明", "品胜 透明防摔壳", 3900, 900, {"material": "TPU"}, 4),
    ("SC-HD", "SCREEN", "绿联", "高清", "绿联 高清钢化膜", 2900, 500, {}, 5),
    ("SC-PRV", "SCREEN", "绿联", "防窥", "绿联 防窥钢化膜", 4900, 1000, {}, 3),
    ("CH-20W", "CHARGER", "Anker", "20W", "Anker 20W 快充头", 9900, 4100, {"power": "20W"}, 4),
    ("CH-65W", "CHARGER", "绿联", "65W", "绿联 65W 氮化镓充电器", 16900, 7800, {"power": "65W"}, 3),
    ("CH-PB", "CHARGER", "小米", "移动电源", "小米 移动电源 10000mAh", 12900, 6500, {"capacity": "10000mAh"}, 3),
    ("EP-HW-FB", "EARPHONE", "华为", "FreeBuds 5i", "华为 FreeBuds 5i", 49900, 29000, {"type": "无线"}, 3),
    ("EP-AP-AIR", "EARPHONE", "Apple", "AirPods", "Apple AirPods 第3代", 139900, 101000, {"type": "无线"}, 2),
    ("EP-XM-BD", "EARPHONE", "小米", "Buds 4", "Redmi Buds 4", 19900, 9800, {"type": "无线"}, 4),
    ("FM-FH-1", "FORMULA", "飞鹤", "星飞帆1段", "飞鹤 星飞帆 1段 700g", 36800, 25000, {"stage": "1段"}, 4),
    ("FM-FH-3", "FORMULA", "飞鹤", "星飞帆3段", "飞鹤 星飞帆 3段 700g", 29800, 20000, {"stage": "3段"}, 4),
    ("FM-AP-2", "FORMULA", "爱他美", "卓萃2段", "爱他美 卓萃 2段 900g", 42800, 31000, {"stage": "2段"}, 3),
    ("FM-JH-3", "FORMULA", "君乐宝", "至臻3段", "君乐宝 至臻 3段 800g", 19800, 12500, {"stage": "3段"}, 3),
    ("DP-HG-L", "DIAPER", "好奇", "心钻装L", "好奇 心钻装 纸尿裤 L 72片", 15900, 10200, {"size": "L"}, 4),
    ("DP-BB-M", "DIAPER", "帮宝适", "一级帮M", "帮宝适 一级帮 纸尿裤 M 84片", 14900, 9600, {"size": "M"}, 4),
    ("DP-HS-XL", "DIAPER", "花王", "妙而舒XL", "花王 妙而舒 纸尿裤 XL 38片", 11900, 7800, {"size": "XL"}, 2),
    ("WP-80", "WIPES", "全棉时代", "80抽", "全棉时代 婴儿湿巾 80抽×6包", 8900, 4800, {}, 5),
    ("BT-PG", "BOTTLE", "贝亲", "宽口径", "贝亲 宽口径玻璃奶瓶 240ml", 12900, 6200, {}, 3),
    ("PR-HP-2729", "PRINTER", "惠普", "2729", "惠普 DeskJet 2729 喷墨一体机", 49900, 39000, {"type": "喷墨"}, 4),
    ("PR-CN-G3800", "PRINTER", "佳能", "G3800", "佳能 G3800 加墨式一体机", 99900, 78000, {"type": "喷墨"}, 3),
    ("PR-BR-1218", "PRINTER", "兄弟", "HL-1218W", "兄弟 HL-1218W 激光打印机", 89900, 70000, {"type": "激光"}, 2),
    ("INK-HP-803", "INK", "惠普", "803", "惠普 803 黑色墨盒", 8900, 4100, {"color": "黑色"}, 5),
    ("INK-HP-803C", "INK", "惠普", "803彩", "惠普 803 彩色墨盒", 10900, 5200, {"color": "彩色"}, 3),
    ("INK-CN-GI", "INK", "佳能", "GI-890", "佳能 GI-890 墨水", 6900, 2900, {"color": "黑色"}, 3),
    ("INK-BR-TN", "INK", "兄弟", "TN-1035", "兄弟 TN-1035 粉盒", 29900, 16000, {"color": "黑色"}, 2),
    ("PP-A4-5", "PAPER", "得力", "A4 70g", "得力 A4 复印纸 70g 5包", 12900, 8800, {"size": "A4"}, 5),
    ("PP-A4-1", "PAPER", "晨光", "A4 80g", "晨光 A4 复印纸 80g 1包", 2990, 1800, {"size": "A4"}, 3),
    ("DT-LB-3", "DETERGENT", "蓝月亮", "深层洁净", "蓝月亮 深层洁净洗衣液 3kg", 5990, 3100, {"weight": "3kg"}, 5),
    ("DT-LB-1", "DETERGENT", "立白", "天然", "立白 天然洗衣液 2kg", 3990, 2000, {"weight": "2kg"}, 4),
    ("DT-OM-3", "DETERGENT", "奥妙", "除菌", "奥妙 除菌洗衣液 3kg", 6990, 3700, {"weight": "3kg"}, 3),
    ("SF-JJ-2", "SOFTENER", "金纺", "花香", "金纺 花香柔顺剂 2L", 4590, 2300, {}, 3),
    ("TS-XY-24", "TISSUE", "心相印", "抽纸24包", "心相印 抽纸 24包", 5990, 3600, {}, 5),
    ("TS-WD-18", "TISSUE", "维达", "抽纸18包", "维达 超韧抽纸 18包", 4990, 3000, {}, 4),
    ("PU-MD-600", "PURIFIER", "美的", "600G", "美的 600G 反渗透净水器", 199900, 142000, {"flow": "600G"}, 3),
    ("PU-XM-1000", "PURIFIER", "小米", "1000G", "小米 1000G 净水器", 249900, 183000, {"flow": "1000G"}, 2),
    ("FL-MD-RO", "FILTER", "美的", "RO滤芯", "美的 RO 反渗透滤芯", 39900, 18000, {}, 3),
    ("FL-XM-PP", "FILTER", "小米", "PP棉滤芯", "小米 PP棉复合滤芯", 12900, 5200, {}, 3),
    ("RC-MD-4L", "RICECOOKER", "美的", "4L", "美的 4L 智能电饭煲", 29900, 19500, {"capacity": "4L"}, 4),
    ("RC-SP-5L", "RICECOOKER", "苏泊尔", "5L", "苏泊尔 5L 球釜电饭煲", 39900, 27000, {"capacity": "5L"}, 3),
]

# Interest segments: which categories a customer's own purchases start from (anchor category weights),
# and the habit (a replenishable category bought on a cycle) some members of the segment have.
SEGMENTS: list[tuple[str, float, dict[str, float], str | None, float]] = [
    ("digital", 0.34, {"PHONE": 0.46, "TABLET": 0.12, "EARPHONE": 0.16, "CHARGER": 0.12, "CASE": 0.14}, None, 0.0),
    ("family", 0.22, {"FORMULA": 0.45, "DIAPER": 0.35, "BOTTLE": 0.10, "WIPES": 0.10}, "FORMULA", 0.55),
    ("office", 0.14, {"PRINTER": 0.30, "INK": 0.45, "PAPER": 0.25}, "INK", 0.45),
    ("home", 0.30, {"DETERGENT": 0.32, "TISSUE": 0.24, "SOFTENER": 0.06, "RICECOOKER": 0.14, "PURIFIER": 0.12,
                    "FILTER": 0.12}, "DETERGENT", 0.40),
]

# What goes into the basket with an anchor product: (anchor category, [(complement category, probability)]).
COMPLEMENTS: dict[str, list[tuple[str, float]]] = {
    "PHONE": [("CASE", 0.62), ("SCREEN", 0.55), ("CHARGER", 0.33), ("EARPHONE", 0.18)],
    "TABLET": [("CASE", 0.30), ("CHARGER", 0.22), ("EARPHONE", 0.12)],
    "PRINTER": [("INK", 0.78), ("PAPER", 0.52)],
    "INK": [("PAPER", 0.30)],
    "FORMULA": [("DIAPER", 0.50), ("WIPES", 0.34), ("BOTTLE", 0.08)],
    "DIAPER": [("WIPES", 0.42)],
    "PURIFIER": [("FILTER", 0.62)],
    "DETERGENT": [("SOFTENER", 0.30), ("TISSUE", 0.26)],
}
IMPULSE_PROB = 0.15  # chance an order also gets one unrelated product (noise for basket analysis)
CONSUMABLES = {"CASE", "SCREEN", "FORMULA", "DIAPER", "WIPES", "INK", "PAPER", "DETERGENT", "SOFTENER", "TISSUE",
               "FILTER"}

SURNAMES: list[tuple[str, float]] = [
    ("王", 7.1), ("李", 7.0), ("张", 6.7), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1), ("黄", 2.3), ("赵", 2.3),
    ("吴", 2.0), ("周", 1.9), ("徐", 1.5), ("孙", 1.4), ("马", 1.3), ("朱", 1.2), ("胡", 1.1), ("郭", 1.1),
    ("何", 1.0), ("林", 1.0), ("高", 1.0), ("罗", 0.9), ("郑", 0.9), ("梁", 0.8), ("谢", 0.7), ("宋", 0.6),
    ("唐", 0.6), ("许", 0.6), ("邓", 0.5), ("冯", 0.5), ("韩", 0.5), ("曹", 0.5), ("彭", 0.5), ("曾", 0.5),
    ("肖", 0.5), ("田", 0.4), ("董", 0.4), ("潘", 0.4), ("袁", 0.4), ("蔡", 0.4), ("蒋", 0.4), ("余", 0.4),
    ("于", 0.4), ("杜", 0.4), ("叶", 0.4), ("程", 0.3), ("魏", 0.3), ("苏", 0.3), ("吕", 0.3), ("丁", 0.3),
    ("任", 0.3), ("卢", 0.3), ("姚", 0.3), ("沈", 0.3), ("钟", 0.3), ("姜", 0.3), ("崔", 0.3), ("谭", 0.3),
    ("陆", 0.3), ("范", 0.2), ("汪", 0.2), ("廖", 0.2), ("石", 0.2), ("金", 0.2), ("韦", 0.2), ("贾", 0.2),
    ("夏", 0.2), ("付", 0.2), ("方", 0.2), ("邹", 0.2), ("熊", 0.2), ("白", 0.2), ("孟", 0.2), ("秦", 0.2),
    ("邱", 0.2), ("侯", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2), ("段", 0.2), ("雷", 0.2),
    ("欧阳", 0.05), ("司马", 0.02), ("上官", 0.02), ("诸葛", 0.02),
]
# Characters for given names; the female/male lists overlap a little, as real names do.
GIVEN_FEMALE = list("芳娜敏静丽艳娟霞秀英玲桂兰萍红梅琳雪颖婷慧洁倩晶燕佳欣悦怡琪瑶雅欢蓉春月凤琴")
GIVEN_MALE = list("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林峰建国志文博成东")
GIVEN_COMMON = list("晨阳子轩嘉睿思然一诺雨安")
# Look-alike or sound-alike characters used to put typos into duplicate records.
TYPO_CHARS = {
    "伟": "玮", "丽": "莉", "静": "婧", "明": "铭", "华": "骅", "军": "君", "芳": "方", "敏": "闵", "杰": "洁",
    "强": "蔷", "磊": "垒", "勇": "永", "艳": "燕", "娟": "鹃", "涛": "滔", "超": "潮", "刚": "钢", "平": "萍",
    "辉": "晖", "鹏": "朋", "飞": "菲", "波": "博", "斌": "彬", "宇": "雨", "浩": "皓", "凯": "恺", "健": "建",
    "俊": "骏", "帆": "凡", "旭": "煦", "宁": "凝", "龙": "隆", "林": "琳", "峰": "锋", "文": "雯", "东": "冬",
    "娜": "纳", "霞": "夏", "英": "莹", "玲": "凌", "兰": "岚", "红": "虹", "梅": "玫", "雪": "学", "颖": "莹",
    "婷": "亭", "慧": "惠", "洁": "杰", "倩": "茜", "晶": "静", "燕": "艳", "佳": "嘉", "欣": "馨", "悦": "越",
    "怡": "宜", "琪": "琦", "瑶": "遥", "雅": "亚", "欢": "环", "蓉": "荣", "春": "纯", "月": "悦", "凤": "风",
    "琴": "勤", "秀": "绣", "桂": "贵", "萍": "苹", "鑫": "新", "博": "搏", "成": "诚", "国": "果", "志": "智",
    "晨": "辰", "阳": "洋", "子": "紫", "轩": "萱", "嘉": "佳", "睿": "瑞", "思": "斯", "然": "冉", "一": "依",
    "诺": "娜", "雨": "宇", "安": "岸", "王": "汪", "李": "黎", "张": "章", "刘": "柳", "陈": "程", "杨": "阳",
    "黄": "王", "赵": "肇", "吴": "伍", "周": "邹", "徐": "许", "孙": "荪", "胡": "湖", "何": "贺",
}
ENGLISH_FIRST = ["James", "Emily", "Michael", "Sarah", "David", "Jessica", "Kevin", "Linda", "Jason", "Amy", "Eric",
                 "Grace", "Tony", "Vivian", "Peter", "Cindy", "Daniel", "Helen", "Frank", "Lucy", "Oliver", "Sophie"]
ENGLISH_LAST = ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Miller", "Davis", "Clark", "Wang", "Li", "Chen",
                "Zhang", "Liu", "Lee", "Wong", "Ng", "Tan", "Martin", "Walker", "Young"]

ORG_WORDS = ["华信", "恒通", "鼎盛", "金诚", "博远", "瑞丰", "宏达", "启明", "锦程", "天润", "中联", "嘉禾", "众合",
             "新锐", "隆泰", "远航"]
ORG_SUFFIXES = [("贸易有限公司", "批发零售"), ("科技有限公司", "信息技术"), ("餐饮管理有限公司", "餐饮"),
                ("教育咨询有限公司", "教育"), ("物业服务有限公司", "物业"), ("医疗器械有限公司", "医疗"),
                ("建筑工程有限公司", "建筑"), ("文化传媒有限公司", "文化传媒")]

OCCUPATIONS_URBAN = ["软件工程师", "教师", "医生", "护士", "会计", "销售", "公务员", "设计师", "律师", "自由职业",
                     "个体经营", "行政", "学生", "退休"]
OCCUPATIONS_RURAL = ["农民", "个体经营", "教师", "司机", "工人", "务工人员", "退休", "村干部"]
INCOME_BANDS = ["low", "lower_middle", "upper_middle", "high"]
INCOME_URBAN = [0.12, 0.38, 0.36, 0.14]
INCOME_RURAL = [0.38, 0.42, 0.16, 0.04]

# Mobile prefixes (China Mobile, Unicom, Telecom) that libphonenumber treats as valid mobile ranges.
MOBILE_PREFIXES = [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159, 166,
                   176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 198, 199]
EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "outlook.com", "gmail.com", "139.com", "foxmail.com"]
EMAIL_DOMAIN_WEIGHTS = [0.42, 0.2, 0.08, 0.05, 0.08, 0.05, 0.06, 0.06]

TAGS = [("VIP", "#d4a017"), ("母婴", "#ee6666"), ("数码达人", "#5470c6"), ("企业客户", "#3ba272"),
        ("新客", "#73c0de"), ("团购", "#9a60b4"), ("沉睡", "#909399")]

# Staff touches on the timeline: (kind, direction, subjects).
TOUCHES: list[tuple[str, str, list[str]]] = [
    ("call", "out", ["回访：产品使用情况", "电话邀约会员日活动", "售后回访：满意度", "提醒续购"]),
    ("call", "in", ["来电咨询：配送进度", "来电咨询：以旧换新", "来电咨询：发票"]),
    ("visit", "in", ["到店咨询新品", "到店体验", "到店办理会员"]),
    ("sms", "out", ["会员日短信", "积分到期提醒", "新品上市通知"]),
    ("wechat", "out", ["企业微信：发送优惠券", "企业微信：生日祝福"]),
    ("note", "", ["偏好周末联系", "对价格敏感，关注促销", "家里有新生儿", "公司采购负责人", "希望上门安装"]),
]
TOUCH_WEIGHTS = [0.3, 0.12, 0.16, 0.22, 0.1, 0.1]

RETURN_REASONS = ["质量问题", "七天无理由退货", "型号不符", "物流破损", "重复购买"]

DEMO_PASSWORD = "clientwise-demo"
SOURCE = "demo"
