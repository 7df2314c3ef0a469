"""The mock's seeded data: the initial admin account and the image-store repositories.

Repositories are pure functions of (host, registryPort), so every run and every thread sees the same
content without shared state. Only hosts under the reserved ``.invalid`` TLD (RFC 2606) have a
repository. Any other host models a store the management node cannot reach, and the mock never opens a
connection to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

SEEDED_IMAGE_STORE_URL = "sftp://root@image-store.invalid/zstack_bs"
SEEDED_IMAGE_STORE_HOST = "image-store.invalid"
# The SDK's default for registryPort; the server applies it when the parameter is absent.
DEFAULT_REGISTRY_PORT = 8000

ADMIN_ACCOUNT = "admin"
ADMIN_PASSWORD = "password"
# AccountConstant.INITIAL_SYSTEM_ADMIN_UUID: every fresh ZStack install has this account uuid.
ADMIN_ACCOUNT_UUID = "36c27e8ff05c4780bf6d2fa65700f22e"

MANAGEMENT_NODE_VERSION = "4.8.0"
# The default session timeout in ZStack's identity global config is 7200 s.
SESSION_TIMEOUT = timedelta(seconds=7200)

INT32_LIMIT = 2**31


def sha512_hex(plaintext: str) -> str:
    """The password form on the wire: lowercase hex SHA-512 of the plaintext."""
    return hashlib.sha512(plaintext.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Account:
    name: str
    uuid: str
    password_sha512: str


ACCOUNTS: dict[str, Account] = {
    ADMIN_ACCOUNT: Account(ADMIN_ACCOUNT, ADMIN_ACCOUNT_UUID, sha512_hex(ADMIN_PASSWORD)),
}


@dataclass(frozen=True)
class ImageInfo:
    """One image-store image info, with the ten fields of the documented ``infos`` items.

    ``created`` is naive server-local time. The mock's "JVM" runs in UTC.
    """

    id: str
    parent: str
    blobsum: str
    created: datetime
    author: str
    arch: str
    desc: str
    size: int
    virtualsize: int
    name: str


def _blobsum(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()


# The seeded store's repository. The first item is the documentation example, with its sizes as the
# integers the typed Long fields carry. All sizes stay below 2**31, so int32 defects stay hidden here.
CURATED_IMAGES: tuple[ImageInfo, ...] = (
    ImageInfo(
        id="270c67e3699f72ba",
        parent="d1b7c0a2f3e49586",
        blobsum=_blobsum("270c67e3699f72ba"),
        created=datetime(2017, 11, 14, 22, 20, 57),
        author="cloud",
        arch="amd64",
        desc="zstack database backup",
        size=7995392,
        virtualsize=12682240,
        name="78b6afbc9da73932a000fb9a75947962",
    ),
    ImageInfo(
        id="5d0e3a7c91b4f286",
        parent="270c67e3699f72ba",
        blobsum=_blobsum("5d0e3a7c91b4f286"),
        created=datetime(2018, 3, 5, 9, 7, 41),
        author="admin",
        arch="x86_64",
        desc="nightly database backup",
        size=104857600,
        virtualsize=209715200,
        name="c0ffee5a1b2c3d4e5f60718293a4b5c6",
    ),
    ImageInfo(
        id="a4c3f1e09b7d2658",
        parent="5d0e3a7c91b4f286",
        blobsum=_blobsum("a4c3f1e09b7d2658"),
        created=datetime(2019, 12, 1, 0, 15, 3),
        author="zstack",
        arch="aarch64",
        desc="database backup before upgrade",
        size=1073741824,
        virtualsize=INT32_LIMIT - 1,
        name="9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    ),
)

_AUTHORS = ("cloud", "admin", "zstack", "ops")
_ARCHES = ("amd64", "x86_64", "aarch64", "mips64el", "loongarch64")
_SYNTHETIC_EPOCH = datetime(2016, 1, 1)
_SYNTHETIC_SPAN_SECONDS = 9 * 365 * 24 * 3600


def _digest(*parts: object) -> bytes:
    # sha256 rather than random.Random: its output is fixed across Python versions and platforms.
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8")).digest()


def _number(*parts: object) -> int:
    return int.from_bytes(_digest(*parts)[:8], "big")


def _synthetic_image(host: str, port: int, index: int) -> ImageInfo:
    def pick(field: str) -> int:
        return _number(host, port, index, field)

    # One image in three is larger than an int32 can hold.
    size = INT32_LIMIT + pick("size") % 2**35 if pick("large") % 3 == 0 else 1 + pick("size") % (INT32_LIMIT - 1)
    return ImageInfo(
        id=_digest(host, port, index, "id").hex()[:16],
        parent=_digest(host, port, index, "parent").hex()[:16],
        blobsum="sha256:" + _digest(host, port, index, "blobsum").hex(),
        created=_SYNTHETIC_EPOCH + timedelta(seconds=pick("created") % _SYNTHETIC_SPAN_SECONDS),
        author=_AUTHORS[pick("author") % len(_AUTHORS)],
        arch=_ARCHES[pick("arch") % len(_ARCHES)],
        desc=f"database backup {index + 1} of {host}",
        size=size,
        # An image's virtual size is never below what it stores, so a large size implies a large virtualsize.
        virtualsize=size + pick("virtualsize") % 2**33,
        name=_digest(host, port, index, "name").hex()[:32],
    )


def repository_host(url: str) -> str | None:
    """The host a url names, lowercased, or None when there is none.

    A url without a scheme ("image-store.invalid:/zstack_bs") is read as a bare authority, because
    operators often write it that way.
    """
    candidate = url if "://" in url else "//" + url
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        # Malformed IPv6 brackets and NFKC-unsafe netlocs: no usable host.
        return None
    return host or None


def is_reachable(host: str, port: int = DEFAULT_REGISTRY_PORT) -> bool:
    """Whether the modelled management node can reach the store's registry at (host, registryPort).

    Only ``.invalid`` hosts exist in the model (nothing real is ever contacted). The seeded store's registry
    listens on the default port only, as a real image store does; another port there is a refused connection.
    """
    if host == SEEDED_IMAGE_STORE_HOST:
        return port == DEFAULT_REGISTRY_PORT
    return host.endswith(".invalid")


def repository(host: str, port: int) -> list[ImageInfo]:
    """The images stored at (host, registryPort) of a reachable image store.

    The seeded store on the default port holds the curated images. Any other (host, port) holds 0 to 5
    synthetic images derived from a hash of the pair, so some repositories are empty and some images are
    larger than an int32.
    """
    if host == SEEDED_IMAGE_STORE_HOST and port == DEFAULT_REGISTRY_PORT:
        return list(CURATED_IMAGES)
    count = _number(host, port, "count") % 6
    return [_synthetic_image(host, port, index) for index in range(count)]
