"""A deterministic generator of realistic directories.

``generate(users=N, groups=M, seed=S)`` always builds the same directory for
the same arguments (and ``now``).  What it puts in, because real tenants have
it and the connector must cope:

* most users internal, at ``domain``; a share external: contractors at partner
  companies and people on personal mail (gmail.com, outlook.com, ...);
* every Okta status, weighted towards ``ACTIVE`` (docs/contract.md, "Map": the signed-in
  states are active, the others are not);
* Entra B2B guests: ``user_type="Guest"``, ``creation_type="Invitation"``,
  ``external_user_state`` ``PendingAcceptance``/``Accepted``, the invited
  address in ``email`` and ``other_mails``, and the ``#EXT#`` UPN
  (idp-wire-protocols.md §2.7);
* emails in odd case (``Alice.Smith@Example.COM``), two users sharing one
  email under distinct user names, non-ASCII names (José, Zoë, Łukasz, 山田);
* group 0 is Okta's built-in ``Everyone`` (``built_in``), which holds every user;
* about three memberships per user besides it, a few users in very many groups, a few
  nested groups, and one membership cycle only when ``cycle=True``.

It builds the records itself and hands them to :meth:`Directory.bulk_load`,
so 100k users and 300k memberships take seconds, not minutes.
"""

from __future__ import annotations

import itertools
import random
import string
import uuid
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from mock_idp.state.directory import ACTIVE_STATUSES
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import User

_BASE62 = string.digits + string.ascii_letters

# (display form, ASCII form for the mailbox)
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("Alice", "alice"), ("Bob", "bob"), ("Carol", "carol"), ("David", "david"), ("Emma", "emma"),
    ("Farid", "farid"), ("Grace", "grace"), ("Hiroshi", "hiroshi"), ("Ingrid", "ingrid"),
    ("José", "jose"), ("Kwame", "kwame"), ("Laura", "laura"), ("Łukasz", "lukasz"), ("Maria", "maria"),
    ("Nikhil", "nikhil"), ("Olivia", "olivia"), ("Priya", "priya"), ("Quentin", "quentin"),
    ("Rosa", "rosa"), ("Søren", "soren"), ("Tomás", "tomas"), ("Ursula", "ursula"), ("Victor", "victor"),
    ("Wei", "wei"), ("Xavier", "xavier"), ("Yara", "yara"), ("Zoë", "zoe"), ("François", "francois"),
    ("Ahmed", "ahmed"), ("Chen", "chen"), ("太郎", "taro"), ("Anaïs", "anais"), ("Björn", "bjorn"),
)  # fmt: skip
FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("Smith", "smith"), ("Johnson", "johnson"), ("García", "garcia"), ("Müller", "mueller"),
    ("Nowak", "nowak"), ("Kowalski", "kowalski"), ("Rossi", "rossi"), ("Dubois", "dubois"),
    ("Andersen", "andersen"), ("Okafor", "okafor"), ("Patel", "patel"), ("Nguyen", "nguyen"),
    ("Kim", "kim"), ("O'Brien", "obrien"), ("Silva", "silva"), ("Yılmaz", "yilmaz"), ("Ivanova", "ivanova"),
    ("山田", "yamada"), ("Tanaka", "tanaka"), ("Brown", "brown"), ("Wilson", "wilson"),
    ("Lefèvre", "lefevre"), ("Jensen", "jensen"), ("Schmidt", "schmidt"), ("Haddad", "haddad"),
    ("Cohen", "cohen"),
)  # fmt: skip
PARTNER_DOMAINS = (
    "acme-consulting.com",
    "northwind-partners.io",
    "contractors.example.net",
    "fabrikam.co.uk",
)
PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "hotmail.co.uk")
DEPARTMENTS = ("Engineering", "Sales", "Marketing", "Finance", "People", "Support", "Legal", "IT", "Design")
GROUP_SUFFIXES = (
    "",
    " EMEA",
    " Americas",
    " APAC",
    " Leads",
    " Contractors",
    " Berlin",
    " On-call",
    " Admins",
)

# kind of user -> weight, for users beyond the fixed showcase at the start
_KINDS: tuple[tuple[str, int], ...] = (
    ("internal", 820),
    ("contractor", 60),
    ("personal", 30),
    ("guest_pending", 15),
    ("guest_accepted", 35),
    ("case_variant", 30),
    ("shared_email", 10),
)
# the first users cover every kind, so even a tiny directory has each feature
_SHOWCASE = (
    "internal", "guest_pending", "contractor", "personal", "guest_accepted", "case_variant",
    "shared_email", "internal", "internal", "internal", "internal", "internal",
)  # fmt: skip
_SHOWCASE_STATUS = {7: "SUSPENDED", 8: "DEPROVISIONED", 9: "STAGED", 10: "LOCKED_OUT", 11: "PASSWORD_EXPIRED"}
_STATUSES: tuple[tuple[str, int], ...] = (
    ("ACTIVE", 870),
    ("PASSWORD_EXPIRED", 10),
    ("LOCKED_OUT", 8),
    ("RECOVERY", 5),
    ("STAGED", 25),
    ("PROVISIONED", 20),
    ("SUSPENDED", 25),
    ("DEPROVISIONED", 37),
)
# groups per user besides Everyone: mean 2, so about three with it (a user in very many
# groups is added separately)
_GROUPS_PER_USER = (0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 5, 4)


def generate(
    users: int = 100,
    groups: int = 10,
    *,
    seed: int = 0,
    domain: str = "example.com",
    cycle: bool = False,
    now: datetime | None = None,
    directory: Directory | None = None,
) -> Directory:
    """A realistic directory of ``users`` users and ``groups`` groups.

    ``now`` anchors the generated timestamps (default: today, midnight UTC),
    so two calls with the same arguments and ``now`` give equal directories.
    ``directory`` receives the objects (a fresh ``Directory(seed=seed)`` with
    tenant ``<first label of domain>.onmicrosoft.com`` by default).
    """
    if users < 0 or groups < 0:
        raise ValueError("users and groups must not be negative")
    if cycle and groups < 3:
        raise ValueError("a membership cycle needs at least three groups (Everyone holds no groups)")
    if directory is None:
        directory = Directory(seed=seed, tenant_domain=f"{domain.split('.')[0]}.onmicrosoft.com")
    anchor = now or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(f"mock-idp-generator:{seed}")
    made_users = _make_users(rng, users, domain, directory.tenant_domain, anchor)
    made_groups = _make_groups(rng, groups, anchor)
    _assign_members(rng, made_users, made_groups, cycle)
    directory.bulk_load(made_users, made_groups)
    return directory


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _okta_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices(_BASE62, k=20 - len(prefix)))


def _when(rng: random.Random, anchor: datetime, max_days: int) -> datetime:
    return anchor - timedelta(seconds=rng.randrange(60, max_days * 86400), milliseconds=rng.randrange(1000))


def _make_users(
    rng: random.Random, count: int, domain: str, tenant_domain: str, anchor: datetime
) -> list[User]:
    kinds = list(_SHOWCASE[:count])
    names, weights = zip(*_KINDS, strict=True)
    kinds += rng.choices(names, weights, k=max(0, count - len(kinds)))
    statuses, status_weights = zip(*_STATUSES, strict=True)
    status_draws = rng.choices(statuses, status_weights, k=count)
    taken: dict[str, int] = {}
    made: list[User] = []
    for index, kind in enumerate(kinds):
        given, family, user_name, email = _identity(rng, kind, domain, taken, made[-1] if made else None)
        status = _SHOWCASE_STATUS.get(index) or status_draws[index]
        user = _user(rng, index, kind, status, anchor)
        user.user_name, user.email, user.given_name, user.family_name = user_name, email, given, family
        user.display_name = f"{given} {family}"
        guest = kind.startswith("guest")
        user.upn = f"{email.lower().replace('@', '_')}#EXT#@{tenant_domain}" if guest else user_name
        user.other_mails = [email] if guest else []
        made.append(user)
    return made


def _identity(
    rng: random.Random, kind: str, domain: str, taken: dict[str, int], previous: User | None
) -> tuple[str, str, str, str]:
    """Given name, family name, user name and email of one user of ``kind``."""
    given, given_ascii = rng.choice(GIVEN_NAMES)
    family, family_ascii = rng.choice(FAMILY_NAMES)
    mail_domain = domain
    if kind == "contractor":
        mail_domain = rng.choice(PARTNER_DOMAINS)
    elif kind in ("personal", "guest_pending", "guest_accepted"):
        mail_domain = rng.choice(PERSONAL_DOMAINS + PARTNER_DOMAINS)
    user_name = _unique(f"{given_ascii}.{family_ascii}@{mail_domain}", taken)
    if kind == "case_variant":
        return given, family, user_name, _case_variant(user_name)
    if kind == "shared_email" and previous is not None and previous.email:
        # a second account (an admin login, say) on the previous user's mailbox
        admin_name = _unique(f"{previous.user_name.partition('@')[0]}.admin@{domain}", taken)
        return previous.given_name or given, previous.family_name or family, admin_name, previous.email
    return given, family, user_name, user_name


def _user(rng: random.Random, index: int, kind: str, status: str, anchor: datetime) -> User:
    """A user record with ids, status, timestamps and HR fields; names and mail come after."""
    guest = kind.startswith("guest")
    staff = kind not in ("personal", "guest_pending", "guest_accepted")
    created = _when(rng, anchor, 1500)
    last_updated = min(anchor, created + timedelta(seconds=rng.randrange(1, 400 * 86400)))
    was_active = status in ACTIVE_STATUSES or status in ("SUSPENDED", "DEPROVISIONED")
    return User(
        object_id=_guid(rng),
        okta_id=_okta_id(rng, "00u"),
        user_name="",
        upn="",
        email=None,
        given_name=None,
        family_name=None,
        display_name=None,
        status=status,
        created=created,
        last_updated=last_updated,
        status_changed=last_updated if status != "ACTIVE" else created,
        activated=created if was_active else None,
        last_login=last_updated if status in ACTIVE_STATUSES and rng.random() < 0.8 else None,
        password_changed=created if status not in ("STAGED", "PROVISIONED") else None,
        user_type="Guest" if guest else "Member",
        creation_type="Invitation" if guest else None,
        external_user_state=("PendingAcceptance" if kind == "guest_pending" else "Accepted")
        if guest
        else None,
        external_id=f"E{index:07d}" if kind == "internal" and rng.random() < 0.5 else None,
        title=None if guest else rng.choice(("Engineer", "Manager", "Analyst", "Designer", "Consultant")),
        department=rng.choice(DEPARTMENTS) if staff else None,
        employee_number=str(10000 + index) if kind == "internal" else None,
        mobile_phone=f"+1 555 {rng.randrange(10000000):07d}" if rng.random() < 0.3 else None,
    )


def _case_variant(address: str) -> str:
    """``alice.smith@example.com`` -> ``Alice.Smith@Example.COM``."""
    local, _, host = address.partition("@")
    labels = host.split(".")
    host = ".".join([label.title() for label in labels[:-1]] + [labels[-1].upper()])
    return ".".join(part[:1].upper() + part[1:] for part in local.split(".")) + "@" + host


def _unique(address: str, taken: dict[str, int]) -> str:
    """``address``, or ``local2@host``, ``local3@host``... if it is taken (case-insensitively)."""
    key = address.lower()
    if key not in taken:
        taken[key] = 2
        return address
    local, _, host = address.partition("@")
    while True:
        n = taken[key]
        taken[key] = n + 1
        candidate = f"{local}{n}@{host}"
        if candidate.lower() not in taken:
            taken[candidate.lower()] = 2
            return candidate


def _make_groups(rng: random.Random, count: int, anchor: datetime) -> list[Group]:
    base_names = [f"{dept}{suffix}" for suffix in GROUP_SUFFIXES for dept in DEPARTMENTS]
    made: list[Group] = []
    for index in range(count):
        name = "Everyone" if index == 0 else base_names[(index - 1) % len(base_names)]
        if index > len(base_names):
            name = f"{name} {index // len(base_names) + 1}"
        created = _when(rng, anchor, 2000)
        updated = min(anchor, created + timedelta(seconds=rng.randrange(1, 300 * 86400)))
        description = f"All members of {name}" if rng.random() < 0.7 else None
        made.append(
            Group(
                object_id=_guid(rng),
                okta_id=_okta_id(rng, "00g"),
                name=name,
                description=None if index == 0 else description,
                created=created,
                last_updated=updated,
                last_membership_updated=updated,
                external_id=f"G{index:05d}" if rng.random() < 0.3 else None,
                built_in=index == 0,
            )
        )
    return made


def _assign_members(rng: random.Random, users: list[User], groups: list[Group], cycle: bool) -> None:
    """Random members for every group but the built-in ``Everyone`` (group 0), which
    :meth:`Directory.bulk_load` fills with every user."""
    pool = groups[1:]
    if not pool:
        return
    # skewed group sizes: the i-th group after Everyone is picked with weight 1/(i+1)
    cum_weights = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(pool))))
    many = max(1, len(users) // 500)  # users in very many groups
    for index, user in enumerate(users):
        wanted = rng.choice(_GROUPS_PER_USER)
        if index % (len(users) // many or 1) == 3:
            wanted = min(len(pool), rng.randrange(20, 60))
        picked = rng.choices(pool, cum_weights=cum_weights, k=wanted) if wanted else ()
        for group in picked:
            group.user_ids[user.object_id] = None
    if len(groups) < 3:
        return
    # a few nested groups under groups 1 and after (Everyone holds none); parents come
    # before children, so no cycle unless asked
    nested = max(2, len(groups) // 50)
    for _ in range(nested):
        parent = rng.randrange(1, len(groups) - 1)
        child = rng.randrange(parent + 1, len(groups))
        groups[parent].group_ids[groups[child].object_id] = None
    groups[1].group_ids[groups[2].object_id] = None  # always at least one two-level chain
    if cycle:
        groups[2].group_ids[groups[1].object_id] = None
