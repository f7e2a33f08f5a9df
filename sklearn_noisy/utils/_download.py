"""Downloading data files into the data home, with a SHA-256 check.

A :class:`RemoteFile` names one official file: where it is published, its
checksum, and the folder of the data home it goes to. :func:`fetch_file`
returns the cached copy when there is one (nothing touches the network), and
otherwise downloads the file into a temporary folder next to its destination,
checks its size and SHA-256, and only then moves it into place: a failed or
corrupted download never leaves a file in the cache. Archives are unpacked
the same way, member by member, and each kept member is checked.

A mirror (``base_url``) holds the official files under the data home's folder
names: ``<base_url>/<folder>/<file name>``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA_URL_ENV", "RemoteFile", "fetch_file", "resolve_base_url"]

DATA_URL_ENV = "SKLEARN_NOISY_DATA_URL"
# Seconds without a byte before a download is given up (urlopen's timeout).
_TIMEOUT = 60
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One official file of a data set.

    Parameters
    ----------
    folder : str
        Folder of the data home (and of a mirror) that holds the file.
    url : str
        Where the data set's authors publish it.
    sha256 : str or None
        SHA-256 of the published file; None for an archive whose ``members``
        are checked instead.
    size : int or None, default=None
        Its size in bytes, when published (checked before the checksum).
    members : tuple of (str, str), default=()
        For a tar archive: ``(file name, sha256)`` of the members to keep
        (found by file name, whatever folder they sit in); the archive itself
        is not kept.
    """

    folder: str
    url: str
    sha256: str | None
    size: int | None = None
    members: tuple = ()

    @property
    def name(self):
        """The published file's name (the last part of the URL's path)."""
        return urllib.parse.urlsplit(self.url).path.rsplit("/", 1)[-1]

    @property
    def targets(self):
        """The names of the files this download leaves in ``folder``."""
        return tuple(name for name, _ in self.members) or (self.name,)


def resolve_base_url(base_url):
    """Return the mirror to download from, or None for the official sources."""
    if base_url is None:
        base_url = os.environ.get(DATA_URL_ENV) or None
    if base_url is not None and not isinstance(base_url, str):
        raise TypeError(
            f"The 'base_url' parameter must be a str or None; got "
            f"{type(base_url).__name__}."
        )
    return base_url


def fetch_file(remote, *, data_home, download_if_missing, base_url, caller):
    """Return the paths of ``remote``'s files in the data home, downloading them.

    Parameters
    ----------
    remote : RemoteFile
        The file to get.
    data_home : pathlib.Path
        The cache folder.
    download_if_missing : bool
        If False, raise a FileNotFoundError instead of downloading.
    base_url : str or None
        A mirror; None downloads from ``remote.url``.
    caller : str
        The public function, named in errors.

    Returns
    -------
    paths : list of pathlib.Path
        One path per name of ``remote.targets``.
    """
    folder = Path(data_home) / remote.folder
    paths = [folder / name for name in remote.targets]
    if all(path.is_file() for path in paths):
        return paths
    missing = next(path for path in paths if not path.is_file())
    if not download_if_missing:
        raise FileNotFoundError(
            f"{caller} needs {missing}, which is not in the data home {data_home}, "
            f"and download_if_missing=False. Pass download_if_missing=True to "
            f"download it, or point data_home (or the SKLEARN_NOISY_DATA "
            f"environment variable) at the folder that holds {remote.folder}/."
        )
    url = remote.url if base_url is None else _mirror_url(base_url, remote)
    folder.mkdir(parents=True, exist_ok=True)
    # The temporary folder sits next to the destination, so that os.replace
    # moves checked files into place atomically; it is removed on any error.
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        download = Path(tmp) / remote.name
        _download(url, download, missing, data_home, caller)
        if remote.members:
            checked = _unpack_members(download, remote, url, caller)
        else:
            _check(download, remote.sha256, remote.size, url, caller)
            checked = {remote.name: download}
        for name, path in checked.items():
            os.replace(path, folder / name)
    return paths


def _mirror_url(base_url, remote):
    return f"{base_url.rstrip('/')}/{remote.folder}/{remote.name}"


def _download(url, path, missing, data_home, caller):
    """Stream ``url`` into ``path``; network failures raise ConnectionError."""
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
            with open(path, "wb") as file:
                while chunk := response.read(_CHUNK):
                    file.write(chunk)
    except (
        urllib.error.URLError,
        http.client.HTTPException,
        TimeoutError,
        ConnectionError,
    ) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason}"
        else:
            reason = getattr(exc, "reason", None) or exc
        raise ConnectionError(
            f"{caller} could not download {url} ({reason}), and {missing} is not "
            f"in the data home {data_home}. Connect to the internet and retry, "
            f"point base_url (or the {DATA_URL_ENV} environment variable) at a "
            f"mirror, or copy the file into {missing.parent} yourself."
        ) from exc


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path, sha256, size, url, caller):
    """Raise an OSError unless ``path`` has the expected size and checksum."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        found, expected = f"{actual_size} bytes", f"{size} bytes"
    else:
        found, expected = _sha256(path), sha256
        if found == expected:
            return
    raise OSError(
        f"{caller}: {path.name} from {url} has {found}, expected {expected} "
        f"(SHA-256 checks the file against the published one). The download "
        f"was discarded; retry, and if it fails again the source or mirror "
        f"serves a different file."
    )


def _unpack_members(archive, remote, url, caller):
    """Extract and check the kept members of a tar archive; return name -> path."""
    wanted = dict(remote.members)
    checked = {}
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                if not member.isfile() or name not in wanted or name in checked:
                    continue
                # Written under our own name: a member's path is never used.
                path = archive.parent / f"member-{len(checked)}"
                with tar.extractfile(member) as source, open(path, "wb") as target:
                    while chunk := source.read(_CHUNK):
                        target.write(chunk)
                _check(path, wanted[name], None, f"{url} ({member.name})", caller)
                checked[name] = path
    except tarfile.TarError as exc:
        raise OSError(
            f"{caller}: {url} is not a readable tar archive ({exc}); the download "
            f"was discarded."
        ) from exc
    absent = sorted(set(wanted) - set(checked))
    if absent:
        raise OSError(
            f"{caller}: the archive {url} has no file(s) {absent}; the download "
            f"was discarded."
        )
    return checked
