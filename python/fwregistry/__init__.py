# SPDX-License-Identifier: LGPL-2.1-or-later
"""fwregistry: ask fwregistryd which QEMU firmware to use, from Python.

A thin, typed client of the io.github.fwregistryd.FirmwareRegistry1 D-Bus API, on Gio (python3-gi) and nothing
else::

    import fwregistry

    client = fwregistry.Client()                 # the system instance
    fw = client.resolve(architecture="x86_64", machine="q35", features={"secure-boot": True})
    print(fw.executable, fw.nvram_template, fw.requires_smm)

Requests are keyword arguments named like the D-Bus request keys with underscores for hyphens
(``check_files``, ``nvram_template``). Results are :class:`Firmware` objects with every key of the API as an
attribute. Failures raise :class:`NoMatch`, :class:`InvalidRequest`, :class:`NotRunning` or another
:class:`Error`.
"""

import asyncio
import dataclasses
import json
import os
import re
import threading
import typing

import gi

gi.require_version('Gio', '2.0')
gi.require_version('GLib', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

__all__ = ['Client', 'Firmware', 'Target', 'FirmwareList', 'Verdict', 'Explanation', 'Change', 'Status',
           'Subscription', 'Error', 'NoMatch', 'InvalidRequest', 'NotRunning', 'NoSuchFirmware', 'AccessDenied',
           'TooLarge', 'Timeout', 'NoSpace', 'Varstore', 'Certificate', 'BootEntry', 'Variable', 'Conversion']

BUS_NAME = 'io.github.fwregistryd.FirmwareRegistry1'
MANAGER_PATH = '/io/github/fwregistryd/FirmwareRegistry1'
MANAGER_INTERFACE = BUS_NAME + '.Manager'
FIRMWARE_PREFIX = MANAGER_PATH + '/firmware/'


# ---- errors ------------------------------------------------------------------------------------------------

# list() asks for pages of this many items (fewer when the daemon says a page is too large)
LIST_PAGE = 1000


class Error(Exception):
    """Any failure of a call to fwregistryd. ``dbus_name`` is the D-Bus error name (may be empty)."""

    def __init__(self, message, dbus_name=''):
        super().__init__(message)
        self.message = message
        self.dbus_name = dbus_name


class NotRunning(Error):
    """fwregistryd is not running, cannot be started, or the bus itself cannot be reached. Programs that must
    work without the daemon can read the descriptors themselves (``fwregistryctl --offline``)."""


class InvalidRequest(Error):
    """The daemon refused the request: an unknown key, a wrong type, an empty value or a contradiction (the
    message names the key or value)."""


class NoMatch(Error):
    """No firmware fits the request.

    ``reasons`` counts why descriptors were rejected (``{"machine": 3, "feature-missing:secure-boot": 1}``),
    ``closest`` names the descriptor that failed on the fewest conditions (or is None), and ``verdicts`` holds
    the whole :class:`Explanation`, asked for right after the failure.
    """

    def __init__(self, message, dbus_name='', explanation=None):
        super().__init__(message, dbus_name)
        self.explanation = explanation
        self.verdicts = explanation.verdicts if explanation else []
        self.reasons = {}
        for v in self.verdicts:
            if v.verdict == 'rejected':
                for r in v.reasons:
                    self.reasons[r] = self.reasons.get(r, 0) + 1
        # the daemon's choice, as its summary states it: "...; closest: NAME (reasons)"
        m = re.search(r'; closest: (\S+) \(', message)
        self.closest = m.group(1) if m else None


class NoSuchFirmware(Error):
    """:meth:`Client.describe` was given a name the catalogue does not have."""


class AccessDenied(Error):
    """The caller may not do this (``Reload`` needs root or polkit authorization)."""


class TooLarge(Error):
    """The reply would exceed the daemon's bound: page through :meth:`Client.list` with offset and limit."""


class Timeout(Error):
    """A file handed to the daemon did not answer in time (a hung FUSE or NFS mount): nobody else waited."""


class NoSpace(Error):
    """The variables do not fit the target template's store; the message says how many bytes each side has."""


_ERRORS = {
    BUS_NAME + '.Error.Timeout': Timeout,
    BUS_NAME + '.Error.NoSpace': NoSpace,
    'org.freedesktop.DBus.Error.InvalidArgs': InvalidRequest,
    BUS_NAME + '.Error.NoMatch': NoMatch,
    BUS_NAME + '.Error.NoSuchFirmware': NoSuchFirmware,
    BUS_NAME + '.Error.TooLarge': TooLarge,
    'org.freedesktop.DBus.Error.AccessDenied': AccessDenied,
    'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired': AccessDenied,
    'org.freedesktop.DBus.Error.ServiceUnknown': NotRunning,
    'org.freedesktop.DBus.Error.NameHasNoOwner': NotRunning,
    'org.freedesktop.DBus.Error.NoServer': NotRunning,
    'org.freedesktop.DBus.Error.FileNotFound': NotRunning,
    'org.freedesktop.DBus.Error.Disconnected': NotRunning,
}


def _error_from_glib(e):
    name = Gio.DBusError.get_remote_error(e) or ''
    message = e.message
    prefix = f'GDBus.Error:{name}: '
    if name and message.startswith(prefix):
        message = message[len(prefix):]
    cls = _ERRORS.get(name)
    if cls is None and name.startswith('org.freedesktop.DBus.Error.Spawn'):
        cls = NotRunning        # D-Bus activation failed
    if cls is None and e.domain == 'g-io-error-quark':
        cls = NotRunning        # the bus went away or was never there
    if cls is NotRunning:
        message = f'fwregistryd is not running ({message})'
    return (cls or Error)(message, name)


# ---- results -----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Target:
    """One entry of a descriptor's ``targets``: an architecture and the machine type globs it supports."""
    architecture: str
    machines: typing.Tuple[str, ...] = ()


def _state(d):
    if d.get('valid', True):
        return 'ok' if d.get('files-ok', True) else 'files-missing'
    problems = d.get('problems') or []
    return 'masked' if problems and problems[0].startswith('masked by ') else 'invalid'


@dataclasses.dataclass(frozen=True)
class Firmware:
    """A catalogue entry: a Resolve result or a List entry, with every key of the API's result dictionary.

    Keys that an older daemon does not send have the documented "none" value: empty strings, 0, empty tuples;
    ``state`` is then derived from ``valid``, ``problems`` and ``files_ok``.
    """
    name: str
    """The descriptor's file name: its identity in the catalogue."""
    path: str = ''
    """The file that was read (the most specific directory's copy)."""
    rank: int = 0
    """Position in the catalogue's order; 0 is the highest priority."""
    generation: int = 0
    """The catalogue generation this answer comes from."""
    description: str = ''
    interface_types: typing.Tuple[str, ...] = ()
    """``uefi``, ``bios``, ``openfirmware``, ``uboot``."""
    device: str = ''
    """``flash``, ``memory``, ``kernel`` or ``igvm``."""
    mode: str = ''
    """For flash: ``split``, ``combined`` or ``stateless``."""
    executable: str = ''
    """The firmware image (flash executable, or memory/kernel/igvm file)."""
    executable_format: str = ''
    nvram_template: str = ''
    """The pristine variable store to copy for each VM (split flash); empty when there is none."""
    nvram_template_format: str = ''
    uefi_vars_template: str = ''
    features: typing.Tuple[str, ...] = ()
    requires_smm: bool = False
    """True when the machine must emulate SMM (``-machine smm=on`` and a secure pflash)."""
    targets: typing.Tuple[Target, ...] = ()
    tags: typing.Tuple[str, ...] = ()
    valid: bool = True
    problems: typing.Tuple[str, ...] = ()
    files_ok: bool = True
    """Whether every referenced image exists and is readable."""
    state: str = ''
    """``ok``, ``files-missing``, ``invalid``, ``masked`` or ``shadowed``."""
    executable_size: int = 0
    nvram_template_size: int = 0
    executable_sha256: str = ''
    """Lower-case hex SHA-256 of the executable; empty when the daemon does not report digests yet."""
    nvram_template_sha256: str = ''
    varstore_format: str = ''
    """The template's varstore layout (``edk2-authenticated``, ``edk2``, ``blank``, ``json``, ``qcow2``)."""
    varstore_size: int = 0
    nvram_template_secure_boot: str = ''
    """What the template's variables set up: ``enforcing``, ``disabled``, ``setup-mode``, or empty when it has no
    variables to read (or there is no template)."""
    nvram_template_certificates: typing.Tuple[str, ...] = ()
    """The certificates in the template's PK, KEK and db, as ``PK:<id>``, ``KEK:<id>``, ``db:<id>``: a known id
    (``microsoft-kek-2023``) or ``sha256:<hex>`` of the certificate."""
    object_path: str = ''
    """The descriptor's D-Bus object ("/" for shadowed files, which have none)."""

    @classmethod
    def from_dict(cls, d, object_path=''):
        """Builds a Firmware from an unpacked result dictionary; keys this module does not know are ignored."""
        fields = {f.name for f in dataclasses.fields(cls)}
        kw = {}
        for key, value in d.items():
            attr = key.replace('-', '_')
            if attr not in fields:
                continue
            if attr == 'targets':
                value = tuple(Target(a, tuple(m)) for a, m in value)
            elif isinstance(value, list):
                value = tuple(value)
            kw[attr] = value
        if not kw.get('state'):
            kw['state'] = _state(d)
        return cls(object_path=object_path, **kw)

    def matches_architecture(self, architecture):
        """True when one of the targets is for this architecture."""
        return any(t.architecture == architecture for t in self.targets)


class FirmwareList(list):
    """A list of :class:`Firmware` in rank order, with the ``generation`` of the catalogue it was read from."""

    def __init__(self, items=(), generation=0):
        super().__init__(items)
        self.generation = generation


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Why one descriptor was or was not chosen: ``selected``, ``eligible``, ``rejected``, ``masked``,
    ``shadowed`` or ``invalid``, with machine-readable reasons (``machine``, ``feature-missing:secure-boot``).
    ``machine_alias`` is what a machine alias of the request stood for when this descriptor was judged
    (``"pc-q35-7.2"`` for ``q35``; the daemon's ``machine-alias:`` note, which is never a reason), or None."""
    name: str
    verdict: str
    reasons: typing.Tuple[str, ...] = ()
    machine_alias: typing.Optional[str] = None

    @classmethod
    def from_wire(cls, name, verdict, reasons):
        notes = [r for r in reasons if r.startswith('machine-alias:')]
        alias = notes[0].split('=', 1)[1] if notes and '=' in notes[0] else None
        return cls(name, verdict, tuple(r for r in reasons if not r.startswith('machine-alias:')), alias)


@dataclasses.dataclass(frozen=True)
class Explanation:
    """Explain's answer: the selected descriptor's name (None when nothing matches) and a verdict for every
    descriptor in rank order."""
    selected: typing.Optional[str]
    verdicts: typing.Tuple[Verdict, ...]

    def verdict(self, name):
        """The verdict about one descriptor, or None."""
        return next((v for v in self.verdicts if v.name == name), None)


@dataclasses.dataclass(frozen=True)
class Change:
    """One CatalogueChanged signal. ``instance`` identifies the daemon that sent it: its InstanceId property,
    or its unique bus name where the daemon does not have that property (or had gone, before the change was
    handled, without its instance having been learnt). Generations count from 0 again when the daemon
    restarts, so keep the instance with a generation."""
    generation: int
    added: typing.Tuple[str, ...]
    removed: typing.Tuple[str, ...]
    modified: typing.Tuple[str, ...]
    instance: str


@dataclasses.dataclass(frozen=True)
class Status:
    """The Manager's properties."""
    version: str
    scope: str
    search_path: typing.Tuple[str, ...]
    generation: int
    count: int
    invalid_count: int
    architectures: typing.Tuple[str, ...]
    features: typing.Tuple[str, ...]
    unwatched_directories: typing.Tuple[str, ...] = ()
    instance_id: str = ''
    """Empty when the daemon is older than this property."""


@dataclasses.dataclass(frozen=True)
class Certificate:
    """An X.509 certificate in a varstore's PK, KEK, db or dbx."""
    database: str
    id: str                 # a known id ('microsoft-kek-2023'), or 'sha256:<hex>'
    subject: str
    issuer: str
    serial: str
    not_before: int         # seconds since the epoch
    not_after: int
    sha256: str
    owner: str


@dataclasses.dataclass(frozen=True)
class BootEntry:
    number: int
    description: str
    active: bool
    device_path: str


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str
    guid: str
    attributes: int
    size: int


def _from_keys(cls, d):
    return cls(**{f.name: d.get(f.name.replace('_', '-'), f.default if f.default is not dataclasses.MISSING
                                else None) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class Varstore:
    """What a VM's varstore holds: :meth:`Client.inspect_varstore`'s answer (InspectVarstore's report)."""
    format: str
    size: int
    varstore_size: int
    secure_boot: str        # 'enforcing', 'disabled', 'setup-mode', or '' when there were no variables
    certificates: typing.Tuple[Certificate, ...]
    hashes: typing.Dict[str, int]
    boot_order: typing.Tuple[int, ...]
    boot_entries: typing.Tuple[BootEntry, ...]
    variables: typing.Tuple[Variable, ...]
    fits: typing.Tuple[str, ...]        # names of the firmware whose template it fits, rank order
    warnings: typing.Tuple[str, ...]
    problems: typing.Tuple[str, ...]

    @classmethod
    def from_dict(cls, d):
        return cls(format=d.get('format', ''), size=d.get('size', 0), varstore_size=d.get('varstore-size', 0),
                   secure_boot=d.get('secure-boot', ''),
                   certificates=tuple(_from_keys(Certificate, c) for c in d.get('certificates', [])),
                   hashes=dict(d.get('hashes', {})), boot_order=tuple(d.get('boot-order', [])),
                   boot_entries=tuple(_from_keys(BootEntry, b) for b in d.get('boot-entries', [])),
                   variables=tuple(Variable(*v) for v in d.get('variables', [])),
                   fits=tuple(_name_of(p) for p in d.get('fits', [])), warnings=tuple(d.get('warnings', [])),
                   problems=tuple(d.get('problems', [])))

    def has_certificate(self, id, databases=('PK', 'KEK', 'db')):
        """Whether one of those databases holds the certificate called id."""
        return any(c.id == id and c.database in databases for c in self.certificates)


@dataclasses.dataclass(frozen=True)
class Conversion:
    """:meth:`Client.convert_varstore`'s answer: the firmware whose template the new store has, and what
    changed."""
    firmware: str
    carried: int
    added_certificates: typing.Tuple[str, ...]
    dropped: typing.Tuple[str, ...]
    bytes_used: int
    bytes_free: int
    warnings: typing.Tuple[str, ...]    # 'pcr7-changes' when PK, KEK, db or dbx changed


def _name_of(path):
    """A firmware object path back to its descriptor's name."""
    if not path.startswith(FIRMWARE_PREFIX):
        return path
    encoded = path[len(FIRMWARE_PREFIX):]
    return re.sub(r'_([0-9a-f]{2})', lambda m: chr(int(m.group(1), 16)), encoded)


def _fd_of(value, what):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if hasattr(value, 'fileno'):
        return value.fileno()
    raise TypeError(f'{what} takes an open file or a file descriptor')


# ---- requests ----------------------------------------------------------------------------------------------

def _str(key, value):
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f'{key} takes a string, got {type(value).__name__}')
    return GLib.Variant('s', value)


def _path(key, value):
    return _str(key, os.path.abspath(os.fspath(value)) if value else value)


def _bool(key, value):
    if not isinstance(value, bool):
        raise TypeError(f'{key} takes a bool, got {type(value).__name__}')
    return GLib.Variant('b', value)


def _strv(key, value):
    if isinstance(value, str) or not all(isinstance(s, str) for s in value):
        raise TypeError(f'{key} takes a list of strings')
    return GLib.Variant('as', list(value))


def _features(key, value):
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, bool) for k, v in value.items()):
        raise TypeError(f'{key} takes a dict of feature name to bool (True: must have, False: must not have)')
    return GLib.Variant('a{sb}', value)


def _uint(key, value):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**32:
        raise TypeError(f'{key} takes an unsigned 32-bit integer')
    return GLib.Variant('u', value)


_REQUEST_KEYS = {
    'architecture': _str, 'machine': _str, 'interface': _str, 'features': _features, 'device': _str,
    'mode': _str, 'formats': _strv, 'smm': _bool, 'check_files': _bool, 'exclude': _strv,
    'executable': _path, 'nvram_template': _path, 'certificates': _strv,
}
_LIST_KEYS = {'include_invalid': _bool, 'include_masked': _bool, 'include_shadowed': _bool,
              'offset': _uint, 'limit': _uint}


def _build_request(method, kwargs, list_keys=False):
    """The a{sv} for a request, and the Gio.UnixFDList that carries the nvram fd (or None)."""
    known = dict(_REQUEST_KEYS, **(_LIST_KEYS if list_keys else {}))
    entries = {}
    fds = None
    for key, value in kwargs.items():
        if value is None:
            continue
        if key == 'nvram':
            fd = value if isinstance(value, int) else value.fileno()
            fds = Gio.UnixFDList.new()
            entries['nvram'] = GLib.Variant('h', fds.append(fd))
            continue
        if key not in known:
            raise TypeError(f'{method}() got an unexpected keyword argument {key!r} (expected '
                            f'{", ".join(sorted([*known, "nvram"]))})')
        entries[key.replace('_', '-')] = known[key](key, value)
    return GLib.Variant('(a{sv})', (entries,)), fds


# ---- the client --------------------------------------------------------------------------------------------

class Client:
    """A connection to fwregistryd.

    ``Client()`` talks to the system instance, ``Client(user=True)`` to the user's instance on the session
    bus, ``Client(address="unix:path=...")`` to a daemon on another bus (tests, containers). Connecting is
    lazy: the first call raises :class:`NotRunning` when there is nothing to talk to. Calls block; they are
    safe to make from any thread.
    """

    def __init__(self, user=False, address=None, timeout=25.0):
        self._user = user
        self._address = address
        self._timeout_ms = int(timeout * 1000)
        self._connection = None
        self._lock = threading.Lock()
        self._instances = {}

    @property
    def connection(self):
        """The Gio.DBusConnection, opened on first use."""
        with self._lock:
            if self._connection is None:
                try:
                    if self._address:
                        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
                                 Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
                        self._connection = Gio.DBusConnection.new_for_address_sync(self._address, flags, None,
                                                                                     None)
                    else:
                        self._connection = Gio.bus_get_sync(Gio.BusType.SESSION if self._user
                                                            else Gio.BusType.SYSTEM, None)
                except GLib.Error as e:
                    raise NotRunning(f'Cannot reach the {"session" if self._user else "system"} bus: '
                                     f'{e.message}') from None
            return self._connection

    def close(self):
        """Closes a connection made with ``address=``; the shared system and session connections stay open."""
        if self._connection is not None and self._address:
            self._connection.close_sync(None)
        self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, params, reply_type, fds=None, interactive=False):
        flags = Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION if interactive else Gio.DBusCallFlags.NONE
        try:
            if fds is not None:
                reply, _ = self.connection.call_with_unix_fd_list_sync(
                    BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, method, params, GLib.VariantType(reply_type),
                    flags, self._timeout_ms, fds, None)
            else:
                reply = self.connection.call_sync(BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, method, params,
                                                  GLib.VariantType(reply_type), flags, self._timeout_ms, None)
        except GLib.Error as e:
            raise _error_from_glib(e) from None
        return reply.unpack()

    def resolve(self, *, architecture, **request):
        """The firmware for a VM: the first descriptor in rank order that matches the request.

        Keyword arguments are the request keys: ``architecture`` (required), ``machine``, ``interface``,
        ``features`` (a dict of name to bool: True must have, False must not have), ``device``, ``mode``,
        ``formats``, ``smm``, ``check_files``, ``exclude``, ``executable``, ``nvram_template`` (relative paths
        are made absolute), ``certificates`` (ids the template must hold in PK, KEK or db:
        ``["microsoft-kek-2023"]``), and ``nvram``: an open file (or fd) of the VM's existing varstore, so that
        only firmware whose template has the same layout matches.

        Returns a :class:`Firmware`; raises :class:`NoMatch` (with the reasons), :class:`InvalidRequest`,
        :class:`NotRunning`.
        """
        params, fds = _build_request('resolve', dict(request, architecture=architecture))
        try:
            path, result = self._call('Resolve', params, '(oa{sv})', fds)
        except NoMatch as e:
            raise NoMatch(e.message, e.dbus_name, self._explain_quietly(architecture, request)) from None
        return Firmware.from_dict(result, path)

    def inspect_varstore(self, file):
        """What a VM's varstore holds: Secure Boot state, certificates, boot entries, warnings, the firmware it
        fits. ``file`` is an open file, a file descriptor, or a path (opened here, read-only): the daemon reads
        it through the descriptor, never by name.

        Returns a :class:`Varstore`; raises :class:`Timeout` when the file does not answer,
        :class:`InvalidRequest` when it is not a regular file.
        """
        if isinstance(file, (str, os.PathLike)):
            with open(file, 'rb') as f:
                return self.inspect_varstore(f)
        fds = Gio.UnixFDList.new()
        index = fds.append(_fd_of(file, 'inspect_varstore()'))
        (report,) = self._call('InspectVarstore', GLib.Variant('(h)', (index,)), '(a{sv})', fds)
        return Varstore.from_dict(report)

    def convert_varstore(self, source, target, *, keys='keep', architecture, **request):
        """A new varstore for the firmware the request resolves to, with the variables of ``source``, written
        into ``target``: an empty regular file opened for writing. ``keys`` is 'keep' (the source's Secure Boot
        keys), 'template' (the template's) or 'add-missing' (the source's, plus the 2023 successors of the
        certificates it trusts and the template's dbx entries it lacks). Request keyword arguments as for
        :meth:`resolve`, but for ``nvram``.

        Returns a :class:`Conversion`; raises :class:`NoSpace`, :class:`NoMatch`, :class:`InvalidRequest`,
        :class:`Timeout`.
        """
        if 'nvram' in request:
            raise TypeError('convert_varstore() takes the source store as its first argument, not nvram=')
        params, _ = _build_request('convert_varstore', dict(request, architecture=architecture))
        fds = Gio.UnixFDList.new()
        s = fds.append(_fd_of(source, 'source'))
        t = fds.append(_fd_of(target, 'target'))
        options = GLib.Variant('a{sv}', {'keys': GLib.Variant('s', keys)})
        call = GLib.Variant.new_tuple(GLib.Variant('h', s), GLib.Variant('h', t), params.get_child_value(0),
                                      options)
        path, report = self._call('ConvertVarstore', call, '(oa{sv})', fds)
        return Conversion(firmware=_name_of(path), carried=report.get('carried', 0),
                          added_certificates=tuple(report.get('added-certificates', [])),
                          dropped=tuple(report.get('dropped', [])), bytes_used=report.get('bytes-used', 0),
                          bytes_free=report.get('bytes-free', 0), warnings=tuple(report.get('warnings', [])))

    def _explain_quietly(self, architecture, request):
        try:
            return self.explain(architecture=architecture, **request)
        except Error:
            return None

    def list(self, **filter):
        """The catalogue in rank order, as a :class:`FirmwareList` (a list with a ``generation``).

        Only the keys given filter: ``list()`` is every valid, unmasked descriptor. Besides the request keys,
        ``include_invalid``, ``include_masked``, ``include_shadowed`` (bools) and ``offset``, ``limit`` (to
        page) apply. Files are not checked unless ``check_files=True``. Without ``offset`` and ``limit`` the
        whole list is read in pages (the daemon sends no reply over 8 MiB), again from the start should the
        catalogue change in between; with them, that one page, or :class:`TooLarge`.
        """
        if filter.get('offset') is not None or filter.get('limit') is not None:
            params, fds = _build_request('list', filter, list_keys=True)
            generation, items = self._call('List', params, '(ta(oa{sv}))', fds)
            return FirmwareList((Firmware.from_dict(d, path) for path, d in items), generation)
        # in pages, so that no reply passes the daemon's bound; the pages fit together only when the
        # catalogue did not change in between: then again from the start (a few times, then what is there)
        limit = LIST_PAGE
        for attempt in range(3):
            firmwares, first, offset = [], None, 0
            while True:
                params, fds = _build_request('list', dict(filter, offset=offset, limit=limit), list_keys=True)
                try:
                    generation, items = self._call('List', params, '(ta(oa{sv}))', fds)
                except TooLarge:
                    if limit == 1:
                        raise
                    limit //= 2         # large entries: smaller pages
                    continue
                if first is None:
                    first = generation
                elif generation != first and attempt < 2:
                    break
                firmwares += (Firmware.from_dict(d, path) for path, d in items)
                if len(items) < limit:
                    return FirmwareList(firmwares, generation)
                offset += len(items)
        return FirmwareList(firmwares, generation)

    def explain(self, *, architecture, **request):
        """A :class:`Explanation`: a verdict for every descriptor, with reasons. Same keywords as
        :meth:`resolve`."""
        params, fds = _build_request('explain', dict(request, architecture=architecture))
        selected, verdicts = self._call('Explain', params, '(oa(ssas))', fds)
        name = None
        if selected != '/':
            name = next((n for n, v, _ in verdicts if v == 'selected'), None)
        return Explanation(name, tuple(Verdict.from_wire(n, v, r) for n, v, r in verdicts))

    def describe(self, name):
        """One descriptor as parsed, plus its computed fields (``path``, ``rank``, ``valid``, ``problems``,
        ``shadowed-paths``, ``masked``, ``scope``), as a dict. ``name`` is a file name or an object path.
        Raises :class:`NoSuchFirmware`."""
        text, = self._call('Describe', GLib.Variant('(s)', (name,)), '(s)')
        return json.loads(text)

    def reload(self, interactive=False):
        """Asks for a rescan now. Needs root or polkit authorization; with ``interactive=True`` polkit may
        ask the user through an authentication agent. Raises :class:`AccessDenied`."""
        self._call('Reload', None, '()', interactive=interactive)

    def _property(self, name, destination=BUS_NAME):
        # asked of a unique name (one daemon's connection), the call never starts a daemon
        try:
            reply = self.connection.call_sync(destination, MANAGER_PATH, 'org.freedesktop.DBus.Properties', 'Get',
                                              GLib.Variant('(ss)', (MANAGER_INTERFACE, name)),
                                              GLib.VariantType('(v)'), Gio.DBusCallFlags.NONE, self._timeout_ms,
                                              None)
        except GLib.Error as e:
            raise _error_from_glib(e) from None
        return reply.unpack()[0]

    def status(self):
        """The Manager's properties as a :class:`Status`."""
        try:
            reply = self.connection.call_sync(BUS_NAME, MANAGER_PATH, 'org.freedesktop.DBus.Properties',
                                              'GetAll', GLib.Variant('(s)', (MANAGER_INTERFACE,)),
                                              GLib.VariantType('(a{sv})'), Gio.DBusCallFlags.NONE,
                                              self._timeout_ms, None)
        except GLib.Error as e:
            raise _error_from_glib(e) from None
        props = reply.unpack()[0]
        fields = {f.name for f in dataclasses.fields(Status)}
        kw = {}
        for key, value in props.items():
            attr = ''.join('_' + c.lower() if c.isupper() else c for c in key).lstrip('_')
            if attr in fields:
                kw[attr] = tuple(value) if isinstance(value, list) else value
        return Status(**kw)

    @property
    def generation(self):
        """The catalogue's current generation."""
        return self._property('Generation')

    @property
    def instance_id(self):
        """The daemon's InstanceId, or its unique bus name where the daemon does not have that property."""
        return self._instance_of(None)

    def _instance_of(self, sender):
        """The instance that a signal's sender (a unique name) stands for, asked of that sender once: never of
        the bus name, which may belong to another daemon by now (a change handled after a restart) or to none
        (and asking it would start one)."""
        if sender is None:
            sender = self._owner()
        if sender not in self._instances:
            try:
                self._instances[sender] = self._property('InstanceId', sender)
            except Error as e:
                if not e.dbus_name.endswith(('.UnknownProperty', '.InvalidArgs')):
                    return sender       # gone before it was asked: its unique name is never used again
                self._instances[sender] = sender    # an older daemon: its unique name is just as unique
        return self._instances[sender]

    def _learn_instance(self):
        """Asks the daemon that owns the name now (if one does: this starts none) for its instance, so that its
        changes are tagged with it even when they are handled after it has gone."""
        try:
            self._instance_of(self._owner())
        except Error:
            pass

    def _owner(self):
        try:
            reply = self.connection.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus',
                                              'org.freedesktop.DBus', 'GetNameOwner', GLib.Variant('(s)', (BUS_NAME,)),
                                              GLib.VariantType('(s)'), Gio.DBusCallFlags.NONE, self._timeout_ms,
                                              None)
        except GLib.Error as e:
            raise _error_from_glib(e) from None
        return reply.unpack()[0]

    def subscribe(self, callback):
        """Calls ``callback(change)`` with a :class:`Change` for every CatalogueChanged signal.

        The callback runs in the GLib main context that is the thread's default when subscribe() is called
        (run a GLib.MainLoop there). Returns a :class:`Subscription`; the subscription is in place when
        subscribe() returns, so nothing that happens afterwards is missed.
        """
        conn = self.connection

        def on_signal(_conn, sender, _path, _iface, _member, params):
            generation, added, removed, modified = params.unpack()
            callback(Change(generation, tuple(added), tuple(removed), tuple(modified), self._instance_of(sender)))

        sid = conn.signal_subscribe(BUS_NAME, MANAGER_INTERFACE, 'CatalogueChanged', MANAGER_PATH, None,
                                    Gio.DBusSignalFlags.NONE, on_signal)
        # a round trip to the bus: the match rule is installed once the bus has answered
        self._ping_bus()
        self._learn_instance()
        return Subscription(conn, sid)

    def _ping_bus(self):
        try:
            self.connection.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                      'GetId', None, None, Gio.DBusCallFlags.NONE, self._timeout_ms, None)
        except GLib.Error as e:
            raise _error_from_glib(e) from None

    def changes(self):
        """An asynchronous iterator of :class:`Change`, for asyncio programs::

            async for change in client.changes():
                ...

        The signals are received on a thread of its own, so no GLib main loop is needed. The subscription is
        in place once the iterator has been created. Stop with ``aclose()`` or by leaving the loop.
        """
        return _ChangeIterator(self)


class Subscription:
    """A CatalogueChanged subscription; :meth:`cancel` ends it (also usable as a context manager)."""

    def __init__(self, connection, sid):
        self._connection = connection
        self._sid = sid

    def cancel(self):
        if self._sid:
            self._connection.signal_unsubscribe(self._sid)
            self._sid = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cancel()


class _ChangeIterator:
    """Runs a GLib main loop on a private thread and hands each Change over to the asyncio loop."""

    def __init__(self, client):
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = asyncio.get_event_loop()
        self._queue = asyncio.Queue()
        self._context = GLib.MainContext.new()
        self._mainloop = GLib.MainLoop.new(self._context, False)
        ready = threading.Event()
        failure = []

        def deliver(change):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, change)

        def thread():
            self._context.push_thread_default()
            try:
                self._subscription = client.subscribe(deliver)
            except Error as e:
                failure.append(e)
                ready.set()
                return
            ready.set()
            self._mainloop.run()
            self._subscription.cancel()
            self._context.pop_thread_default()

        self._thread = threading.Thread(target=thread, name='fwregistry-changes', daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self._thread.is_alive():
            raise StopAsyncIteration
        return await self._queue.get()

    async def aclose(self):
        self._mainloop.quit()
        self._context.wakeup()
        self._thread.join()
