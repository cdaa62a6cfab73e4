"""Fixed word lists of the synthetic shop: names, cities, industries, products, stores.

Everything here is a small constant table; the generator draws indices into these
lists with numpy and turns them into strings with ``pyarrow.compute.take``. Strings
that end up inside JSON properties (product names, search words, campaign names,
store codes, ...) never contain ``"`` or ``\\``, which lets the renderer build JSON
by plain concatenation (checked by :func:`check_json_safe`).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "CITIES",
    "CN_GIVEN_FEMALE",
    "CN_GIVEN_MALE",
    "CN_SURNAMES",
    "EMAIL_DOMAINS",
    "EMOJI",
    "INDUSTRIES",
    "RU_FIRST_FEMALE",
    "RU_FIRST_MALE",
    "RU_SURNAMES",
    "SOURCES",
    "SOURCE_PREFIX",
    "STORES",
    "WEST_FIRST_FEMALE",
    "WEST_FIRST_MALE",
    "WEST_SURNAMES",
    "check_json_safe",
]

# fmt: off
#: Source systems a profile can come from, with the profile_id prefix of each.
SOURCES: Final[tuple[str, ...]] = ("shop", "app", "wechat", "crm", "pos")
SOURCE_PREFIX: Final[tuple[str, ...]] = ("shop_", "app_", "wx_", "crm_", "pos_")
SHOP, APP, WECHAT, CRM, POS = range(5)

#: Event / order channels.
CHANNELS: Final[tuple[str, ...]] = ("web", "app", "wechat", "store", "email", "sms")
CH_WEB, CH_APP, CH_WECHAT, CH_STORE, CH_EMAIL, CH_SMS = range(6)

# --------------------------------------------------------------------------- names
#: (汉字, pinyin) of common Chinese surnames, most frequent first.
CN_SURNAMES: Final[tuple[tuple[str, str], ...]] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("林", "lin"), ("高", "gao"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("许", "xu"), ("邓", "deng"), ("韩", "han"), ("冯", "feng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"),
    ("潘", "pan"), ("袁", "yuan"), ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"),
    ("于", "yu"), ("杜", "du"), ("叶", "ye"), ("程", "cheng"), ("魏", "wei"),
    ("苏", "su"), ("吕", "lv"), ("丁", "ding"), ("任", "ren"), ("卢", "lu"),
    ("姚", "yao"), ("沈", "shen"), ("钟", "zhong"), ("姜", "jiang"), ("崔", "cui"),
    ("谭", "tan"), ("陆", "lu"), ("范", "fan"), ("汪", "wang"), ("廖", "liao"),
    ("石", "shi"), ("金", "jin"), ("贾", "jia"), ("夏", "xia"), ("方", "fang"),
    ("邹", "zou"), ("熊", "xiong"), ("白", "bai"), ("孟", "meng"), ("秦", "qin"),
    ("邱", "qiu"), ("侯", "hou"), ("江", "jiang"), ("尹", "yin"), ("薛", "xue"),
    ("段", "duan"), ("雷", "lei"), ("龙", "long"), ("史", "shi"), ("陶", "tao"),
    ("贺", "he"), ("毛", "mao"), ("顾", "gu"), ("龚", "gong"), ("邵", "shao"),
    ("万", "wan"), ("钱", "qian"), ("戴", "dai"), ("严", "yan"), ("欧阳", "ouyang"),
    ("司马", "sima"), ("诸葛", "zhuge"),
)
CN_GIVEN_MALE: Final[tuple[tuple[str, str], ...]] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("斌", "bin"), ("超", "chao"), ("明", "ming"),
    ("刚", "gang"), ("平", "ping"), ("辉", "hui"), ("鹏", "peng"), ("华", "hua"),
    ("飞", "fei"), ("鑫", "xin"), ("波", "bo"), ("宇", "yu"), ("浩", "hao"),
    ("凯", "kai"), ("健", "jian"), ("俊", "jun"), ("帆", "fan"), ("旭", "xu"),
    ("宁", "ning"), ("阳", "yang"), ("博", "bo"), ("文", "wen"), ("志", "zhi"),
    ("建", "jian"), ("国", "guo"), ("东", "dong"), ("晨", "chen"), ("子", "zi"),
    ("轩", "xuan"), ("昊", "hao"), ("然", "ran"), ("天", "tian"), ("泽", "ze"),
    ("峰", "feng"), ("毅", "yi"),
)
CN_GIVEN_FEMALE: Final[tuple[tuple[str, str], ...]] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("艳", "yan"), ("娟", "juan"), ("霞", "xia"), ("秀", "xiu"), ("玲", "ling"),
    ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("莹", "ying"), ("琳", "lin"),
    ("颖", "ying"), ("倩", "qian"), ("洁", "jie"), ("佳", "jia"), ("欣", "xin"),
    ("怡", "yi"), ("悦", "yue"), ("梦", "meng"), ("思", "si"), ("雨", "yu"),
    ("萱", "xuan"), ("涵", "han"), ("晴", "qing"), ("诗", "shi"), ("琪", "qi"),
    ("瑶", "yao"), ("嘉", "jia"), ("薇", "wei"), ("蕾", "lei"), ("璐", "lu"),
    ("月", "yue"), ("春", "chun"), ("红", "hong"), ("梅", "mei"), ("兰", "lan"),
    ("晓", "xiao"), ("燕", "yan"),
)
#: (Cyrillic, transliteration).
RU_FIRST_MALE: Final[tuple[tuple[str, str], ...]] = (
    ("Александр", "aleksandr"), ("Дмитрий", "dmitry"), ("Максим", "maksim"),
    ("Сергей", "sergey"), ("Андрей", "andrey"), ("Алексей", "aleksey"), ("Иван", "ivan"),
    ("Михаил", "mikhail"), ("Николай", "nikolay"), ("Владимир", "vladimir"),
)
RU_FIRST_FEMALE: Final[tuple[tuple[str, str], ...]] = (
    ("Анна", "anna"), ("Мария", "maria"), ("Елена", "elena"), ("Ольга", "olga"),
    ("Наталья", "natalya"), ("Татьяна", "tatyana"), ("Екатерина", "ekaterina"),
    ("Ирина", "irina"), ("Светлана", "svetlana"), ("Юлия", "yulia"),
)
#: Male form; the female form appends "а" / "a".
RU_SURNAMES: Final[tuple[tuple[str, str], ...]] = (
    ("Иванов", "ivanov"), ("Смирнов", "smirnov"), ("Кузнецов", "kuznetsov"),
    ("Попов", "popov"), ("Васильев", "vasiliev"), ("Петров", "petrov"),
    ("Соколов", "sokolov"), ("Михайлов", "mikhailov"), ("Новиков", "novikov"),
    ("Фёдоров", "fedorov"), ("Морозов", "morozov"), ("Волков", "volkov"),
)
WEST_FIRST_MALE: Final[tuple[str, ...]] = (
    "James", "John", "Robert", "Michael", "David", "William", "Thomas", "Lukas",
    "Oliver", "Noah", "José", "François",
)
WEST_FIRST_FEMALE: Final[tuple[str, ...]] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Sarah", "Emma", "Sophie",
    "Charlotte", "Mia", "Zoë", "Chloé",
)
WEST_SURNAMES: Final[tuple[str, ...]] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
    "Taylor", "Anderson", "Müller", "Schmidt", "O'Brien", "García", "Dubois", "Rossi",
)
EMOJI: Final[tuple[str, ...]] = (
    "😊", "🌸", "🍀", "✨", "🐱", "🌙", "💄", "🎧", "🏀", "🍓", "🐼", "🌈",
)

# --------------------------------------------------------------------------- places
#: (city, province, country, timezone, utc offset hours, weight, tier).
#: Tier 1 = the four first-tier cities (北上广深), 2 = new first tier, 3 = other.
CITIES: Final[tuple[tuple[str, str, str, str, int, float, int], ...]] = (
    ("Beijing", "Beijing", "CN", "Asia/Shanghai", 8, 9.0, 1),
    ("Shanghai", "Shanghai", "CN", "Asia/Shanghai", 8, 10.0, 1),
    ("Guangzhou", "Guangdong", "CN", "Asia/Shanghai", 8, 7.0, 1),
    ("Shenzhen", "Guangdong", "CN", "Asia/Shanghai", 8, 7.0, 1),
    ("Hangzhou", "Zhejiang", "CN", "Asia/Shanghai", 8, 4.0, 2),
    ("Chengdu", "Sichuan", "CN", "Asia/Shanghai", 8, 4.0, 2),
    ("Wuhan", "Hubei", "CN", "Asia/Shanghai", 8, 3.0, 2),
    ("Nanjing", "Jiangsu", "CN", "Asia/Shanghai", 8, 3.0, 2),
    ("Chongqing", "Chongqing", "CN", "Asia/Shanghai", 8, 3.0, 2),
    ("Tianjin", "Tianjin", "CN", "Asia/Shanghai", 8, 2.5, 2),
    ("Suzhou", "Jiangsu", "CN", "Asia/Shanghai", 8, 2.5, 2),
    ("Xian", "Shaanxi", "CN", "Asia/Shanghai", 8, 2.5, 2),
    ("Changsha", "Hunan", "CN", "Asia/Shanghai", 8, 2.0, 2),
    ("Zhengzhou", "Henan", "CN", "Asia/Shanghai", 8, 2.0, 2),
    ("Dongguan", "Guangdong", "CN", "Asia/Shanghai", 8, 1.5, 2),
    ("Qingdao", "Shandong", "CN", "Asia/Shanghai", 8, 1.5, 2),
    ("Shenyang", "Liaoning", "CN", "Asia/Shanghai", 8, 1.5, 2),
    ("Ningbo", "Zhejiang", "CN", "Asia/Shanghai", 8, 1.5, 2),
    ("Hefei", "Anhui", "CN", "Asia/Shanghai", 8, 1.5, 2),
    ("Kunming", "Yunnan", "CN", "Asia/Shanghai", 8, 1.2, 3),
    ("Xiamen", "Fujian", "CN", "Asia/Shanghai", 8, 1.2, 3),
    ("Fuzhou", "Fujian", "CN", "Asia/Shanghai", 8, 1.0, 3),
    ("Jinan", "Shandong", "CN", "Asia/Shanghai", 8, 1.0, 3),
    ("Harbin", "Heilongjiang", "CN", "Asia/Shanghai", 8, 1.0, 3),
    ("Dalian", "Liaoning", "CN", "Asia/Shanghai", 8, 1.0, 3),
    ("Wuxi", "Jiangsu", "CN", "Asia/Shanghai", 8, 1.0, 3),
    ("Foshan", "Guangdong", "CN", "Asia/Shanghai", 8, 1.0, 3),
    ("Nanning", "Guangxi", "CN", "Asia/Shanghai", 8, 0.8, 3),
    ("Shijiazhuang", "Hebei", "CN", "Asia/Shanghai", 8, 0.8, 3),
    ("Changchun", "Jilin", "CN", "Asia/Shanghai", 8, 0.7, 3),
    ("Taiyuan", "Shanxi", "CN", "Asia/Shanghai", 8, 0.7, 3),
    ("Nanchang", "Jiangxi", "CN", "Asia/Shanghai", 8, 0.7, 3),
    ("Guiyang", "Guizhou", "CN", "Asia/Shanghai", 8, 0.6, 3),
    ("Lanzhou", "Gansu", "CN", "Asia/Shanghai", 8, 0.5, 3),
    ("Haikou", "Hainan", "CN", "Asia/Shanghai", 8, 0.5, 3),
    ("Urumqi", "Xinjiang", "CN", "Asia/Shanghai", 8, 0.4, 3),
    ("Hohhot", "Inner Mongolia", "CN", "Asia/Shanghai", 8, 0.4, 3),
    ("Wenzhou", "Zhejiang", "CN", "Asia/Shanghai", 8, 0.8, 3),
    ("Zhuhai", "Guangdong", "CN", "Asia/Shanghai", 8, 0.6, 3),
    ("Luoyang", "Henan", "CN", "Asia/Shanghai", 8, 0.5, 3),
    ("Guilin", "Guangxi", "CN", "Asia/Shanghai", 8, 0.4, 3),
    ("Lhasa", "Tibet", "CN", "Asia/Shanghai", 8, 0.1, 3),
    # abroad; weights are relative inside the locale group, see people.py
    ("Moscow", "Moscow", "RU", "Europe/Moscow", 3, 5.0, 0),
    ("Saint Petersburg", "Saint Petersburg", "RU", "Europe/Moscow", 3, 2.5, 0),
    ("Novosibirsk", "Novosibirsk Oblast", "RU", "Asia/Novosibirsk", 7, 1.0, 0),
    ("Vladivostok", "Primorsky Krai", "RU", "Asia/Vladivostok", 10, 1.0, 0),
    ("Kazan", "Tatarstan", "RU", "Europe/Moscow", 3, 1.0, 0),
    ("New York", "New York", "US", "America/New_York", -5, 3.0, 0),
    ("San Francisco", "California", "US", "America/Los_Angeles", -8, 2.0, 0),
    ("London", "England", "GB", "Europe/London", 0, 2.0, 0),
    ("Berlin", "Berlin", "DE", "Europe/Berlin", 1, 1.5, 0),
    ("Sydney", "New South Wales", "AU", "Australia/Sydney", 10, 1.0, 0),
    ("Toronto", "Ontario", "CA", "America/Toronto", -5, 1.0, 0),
)
N_CN_CITIES: Final[int] = sum(1 for c in CITIES if c[2] == "CN")
N_RU_CITIES: Final[int] = sum(1 for c in CITIES if c[2] == "RU")

#: (industry, weight among persons, Chinese word used in company names).
INDUSTRIES: Final[tuple[tuple[str, float, str], ...]] = (
    ("internet", 16.0, "网络科技"), ("finance", 12.0, "金融服务"), ("education", 10.0, "教育科技"),
    ("manufacturing", 14.0, "制造"), ("retail", 12.0, "商贸"), ("healthcare", 8.0, "医疗"),
    ("government", 6.0, "公共服务"), ("logistics", 6.0, "物流"), ("media", 5.0, "文化传媒"),
    ("real_estate", 5.0, "置业"), ("energy", 3.0, "能源"), ("hospitality", 3.0, "酒店管理"),
)
COMPANY_WORDS: Final[tuple[tuple[str, str], ...]] = (
    ("星辰", "xingchen"), ("华夏", "huaxia"), ("恒通", "hengtong"), ("创新", "chuangxin"),
    ("远景", "yuanjing"), ("云帆", "yunfan"), ("智联", "zhilian"), ("鼎盛", "dingsheng"),
    ("天成", "tiancheng"), ("博远", "boyuan"), ("金桥", "jinqiao"), ("瑞丰", "ruifeng"),
    ("宏达", "hongda"), ("新锐", "xinrui"), ("汇通", "huitong"), ("正泰", "zhengtai"),
)
COMPANY_CITY_PREFIX: Final[tuple[str, ...]] = (
    "北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "苏州", "西安",
)
FOREIGN_COMPANIES: Final[tuple[str, ...]] = (
    "Volga Trading LLC", "Northwind Analytics Inc.", "Baltic Logistics OOO",
    "Blue Harbor Retail Ltd", "Sibir Energy JSC", "Maple Education Group",
)

# --------------------------------------------------------------------------- catalog
#: (category, prefix, weight, median price CNY, sigma, brands, nouns, search words).
CATEGORIES: Final[tuple[tuple[str, str, float, float, float, tuple[str, ...], tuple[str, ...]], ...]] = (
    ("beauty", "BEA", 15.0, 180.0, 0.7, ("花西子", "完美日记", "珀莱雅", "兰蔻", "雅诗兰黛", "欧莱雅"),
     ("口红", "精华液", "面霜", "粉底液", "眼影盘", "面膜", "防晒霜", "卸妆水")),
    ("apparel", "APP", 18.0, 220.0, 0.7, ("优衣库", "太平鸟", "波司登", "ZARA", "海澜之家"),
     ("连衣裙", "T恤", "羽绒服", "牛仔裤", "衬衫", "卫衣", "风衣", "针织衫")),
    ("electronics", "ELE", 10.0, 900.0, 1.0, ("华为", "小米", "Apple", "OPPO", "vivo", "大疆"),
     ("手机", "蓝牙耳机", "充电宝", "智能手表", "平板电脑", "笔记本电脑", "机械键盘")),
    ("food", "FOO", 14.0, 60.0, 0.6, ("三只松鼠", "良品铺子", "百草味", "蒙牛", "伊利"),
     ("坚果礼盒", "纯牛奶", "咖啡豆", "绿茶", "巧克力", "牛肉干")),
    ("home", "HOM", 11.0, 150.0, 0.8, ("网易严选", "宜家", "全棉时代", "苏泊尔", "小熊"),
     ("四件套", "乳胶枕", "收纳箱", "电饭煲", "保温杯", "香薰")),
    ("baby", "BAB", 7.0, 160.0, 0.7, ("帮宝适", "花王", "贝亲", "飞鹤", "好孩子"),
     ("纸尿裤", "婴儿奶粉", "奶瓶", "婴儿湿巾", "儿童推车")),
    ("sports", "SPO", 8.0, 260.0, 0.7, ("李宁", "安踏", "Nike", "迪卡侬", "Keep"),
     ("跑步鞋", "瑜伽垫", "运动套装", "羽毛球拍", "哑铃")),
    ("books", "BOO", 6.0, 45.0, 0.4, ("中信出版", "人民文学", "机械工业", "商务印书馆"),
     ("长篇小说", "编程入门", "历史读物", "儿童绘本", "经济学原理")),
    ("pets", "PET", 5.0, 90.0, 0.6, ("皇家", "伯纳天纯", "麦富迪", "网易天成"),
     ("猫粮", "狗粮", "猫砂", "宠物零食", "猫抓板")),
    ("health", "HEA", 6.0, 130.0, 0.6, ("汤臣倍健", "善存", "Swisse", "钙尔奇"),
     ("维生素C", "深海鱼油", "蛋白粉", "益生菌", "钙片")),
)
VARIANTS: Final[tuple[str, ...]] = ("经典款", "升级版", "礼盒装", "大容量", "限定版", "家庭装", "Pro", "Mini")

#: (code, name, city) of the offline stores, and the store's own phone number
#: (a "junk" identifier cashiers type in when the customer gives none).
STORES: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("BJ001", "北京三里屯店", "Beijing", "010-65321188"),
    ("BJ002", "北京国贸店", "Beijing", "010-85351234"),
    ("SH001", "上海静安店", "Shanghai", "021-62881234"),
    ("SH002", "上海徐家汇店", "Shanghai", "021-64001122"),
    ("GZ001", "广州天河店", "Guangzhou", "020-38881234"),
    ("SZ001", "深圳万象城店", "Shenzhen", "0755-82345678"),
    ("HZ001", "杭州湖滨店", "Hangzhou", "0571-87001234"),
    ("CD001", "成都太古里店", "Chengdu", "028-86661234"),
    ("WH001", "武汉楚河汉街店", "Wuhan", "027-85551234"),
    ("NJ001", "南京新街口店", "Nanjing", "025-84401234"),
)
JUNK_EMAILS: Final[tuple[str, ...]] = ("test@test.com", "noreply@example.com")

#: (domain, weight) per locale: CN, RU, western.
EMAIL_DOMAINS: Final[tuple[tuple[tuple[str, float], ...], ...]] = (
    (("qq.com", 35.0), ("163.com", 20.0), ("126.com", 8.0), ("gmail.com", 6.0),
     ("outlook.com", 6.0), ("sina.com", 5.0), ("foxmail.com", 5.0), ("icloud.com", 6.0),
     ("hotmail.com", 4.0), ("yeah.net", 3.0)),
    (("yandex.ru", 40.0), ("mail.ru", 35.0), ("gmail.com", 25.0)),
    (("gmail.com", 50.0), ("outlook.com", 20.0), ("yahoo.com", 15.0), ("icloud.com", 15.0)),
)
CN_MOBILE_PREFIXES: Final[tuple[int, ...]] = (
    130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158,
    159, 166, 170, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199,
)

# --------------------------------------------------------------------------- event detail
REFERRERS: Final[tuple[str, ...]] = (
    "direct", "baidu", "wechat", "douyin", "xiaohongshu", "weibo", "google", "email", "sms",
)
LOGIN_METHODS: Final[tuple[str, ...]] = ("password", "sms_code", "wechat", "qr_code")
APP_OS: Final[tuple[str, ...]] = ("ios", "android", "harmonyos")
APP_VERSIONS: Final[tuple[str, ...]] = ("5.8.0", "5.9.2", "6.0.1", "6.1.0")
PAYMENTS: Final[tuple[str, ...]] = ("wechat_pay", "alipay", "unionpay", "card")
RETURN_REASONS: Final[tuple[str, ...]] = (
    "size", "quality", "not_as_described", "changed_mind", "damaged",
)
OA_APPS: Final[tuple[str, ...]] = ("gh_segshop_main", "gh_segshop_service")
SUBSCRIBE_SCENES: Final[tuple[str, ...]] = (
    "ADD_SCENE_QR_CODE", "ADD_SCENE_SEARCH", "ADD_SCENE_ARTICLE", "ADD_SCENE_PROFILE_CARD",
)
WECOM_ADD_WAYS: Final[tuple[str, ...]] = ("qr_code", "phone", "group", "card_share")
CRM_STAGES: Final[tuple[str, ...]] = ("lead", "qualified", "opportunity", "customer")
CURRENCIES: Final[tuple[tuple[str, float], ...]] = (("CNY", 1.0), ("RUB", 12.5), ("USD", 0.14))

# fmt: on


def check_json_safe() -> None:
    """Assert that no string that ends up inside JSON needs escaping."""
    words: list[str] = []
    for cat in CATEGORIES:
        words += [cat[0], cat[1], *cat[5], *cat[6]]
    words += list(VARIANTS) + [s[0] for s in STORES] + [s[1] for s in STORES]
    words += list(REFERRERS + LOGIN_METHODS + APP_OS + APP_VERSIONS + PAYMENTS + RETURN_REASONS)
    words += list(OA_APPS + SUBSCRIBE_SCENES + WECOM_ADD_WAYS + CRM_STAGES)
    words += [s for s, _ in CN_SURNAMES] + [s for s, _ in RU_FIRST_MALE + RU_FIRST_FEMALE]
    words += list(WEST_FIRST_MALE + WEST_FIRST_FEMALE)
    bad = [w for w in words if '"' in w or "\\" in w or any(ord(c) < 32 for c in w)]
    assert not bad, f"strings unsafe for JSON concatenation: {bad}"
