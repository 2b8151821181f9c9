"""Postfix's test tools and a private Postfix instance, for the delivery benchmark.

- :class:`Sink`: ``smtp-sink`` on a free loopback port, throwing messages away and counting
  them (its ``-c`` counters, read as they change), so a caller can wait for "N accepted";
- :func:`smtp_source`: ``smtp-source`` sending N messages of a given size over parallel
  sessions;
- :class:`PostfixInstance`: a Postfix of its own (configuration, queue and data
  directories in a temporary directory, an ``smtpd`` on a free loopback port, every message
  relayed to one host and port, no DNS, no local delivery, no rate limits), stopped and
  removed afterwards.

The tools come with Debian's ``postfix`` package (``make bench`` installs it); a missing one
raises :class:`PostfixMissing`. Every process started here is stopped by its own handle.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from postwise.stack import stop_process

log = logging.getLogger("benchmarks.postfix")

TOOLS = ("smtp-sink", "smtp-source", "postfix")
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
COUNTER = re.compile(rb"mesg=(\d+)")


class PostfixError(RuntimeError):
    """Postfix or one of its test tools did not do what the benchmark needs."""


class PostfixMissing(PostfixError):
    """A Postfix program is not installed (``make bench`` installs the package)."""


def find_tool(name: str) -> str:
    """The path of a Postfix program (``/usr/sbin`` is often not on a user's PATH)."""
    found = shutil.which(name) or next(
        (f"{d}/{name}" for d in SBIN_DIRS if os.access(f"{d}/{name}", os.X_OK)), None
    )
    if found is None:
        raise PostfixMissing(f"{name} is not installed (Debian package postfix)")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise PostfixError(
                    f"nothing listens on 127.0.0.1:{port} after {timeout:g} s"
                ) from None
            time.sleep(0.05)


class Sink:
    """``smtp-sink`` on a free loopback port; counts the messages it accepted."""

    def __init__(self, backlog: int = 1024, max_connections: int = 512) -> None:
        self.port = free_port()
        command = [find_tool("smtp-sink"), "-c", "-4", "-m", str(max_connections)]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # it refuses to run as root otherwise
        command += [f"127.0.0.1:{self.port}", str(backlog)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        self._count = 0
        self._changed = threading.Condition()
        self._times: dict[int, float] = {}
        self._reader = threading.Thread(target=self._read, name="smtp-sink", daemon=True)
        self._reader.start()
        try:
            wait_for_port(self.port, 10.0)
        except PostfixError:
            self.close()
            raise

    @property
    def accepted(self) -> int:
        """Messages accepted so far (each ``.`` answered)."""
        with self._changed:
            return self._count

    def wait_for(self, count: int, timeout: float) -> float:
        """Block until ``count`` messages were accepted; returns the ``time.monotonic()``
        at which the counter first reached it. :class:`PostfixError` after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._count < count:
                left = deadline - time.monotonic()
                if left <= 0 or self._process.poll() is not None:
                    raise PostfixError(
                        f"smtp-sink accepted {self._count} of {count} messages "
                        f"({'exited' if self._process.poll() is not None else 'timed out'})"
                    )
                self._changed.wait(min(left, 0.5))
            return min(t for n, t in self._times.items() if n >= count)

    def close(self) -> None:
        """Stop the sink (idempotent)."""
        _stop(self._process, "smtp-sink")
        self._reader.join(timeout=5)

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        # The counters are rewritten in place ("sess=.. quit=.. mesg=..\r"); read raw
        # chunks and keep the newest value of each chunk with the time it arrived.
        stream = self._process.stdout
        assert stream is not None
        while True:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return
            found = COUNTER.findall(chunk)
            if not found:
                continue
            now = time.monotonic()
            with self._changed:
                newest = int(found[-1])
                if newest > self._count:
                    self._count = newest
                    self._times.setdefault(newest, now)
                    self._changed.notify_all()


def smtp_source(
    port: int,
    messages: int,
    size: int,
    sessions: int,
    timeout: float,
    *,
    sender: str = "bench@source.example",
    recipient: str = "reader@sink.example",
) -> None:
    """Send ``messages`` messages of ``size`` body bytes to 127.0.0.1:``port`` over
    ``sessions`` parallel SMTP sessions (one message per session, as ``smtp-source`` does)."""
    command = [
        find_tool("smtp-source"), "-4", "-s", str(sessions), "-m", str(messages),
        "-l", str(size), "-f", sender, "-t", recipient, f"127.0.0.1:{port}",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PostfixError(f"smtp-source did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        raise PostfixError(f"smtp-source failed ({done.returncode}): {done.stderr.strip()[:500]}")


MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
meta_directory = {meta}
command_directory = {command}
daemon_directory = {daemon}
shlib_directory = {shlib}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
myhostname = postfix-bench.localdomain
mydomain = localdomain
myorigin = $myhostname
mydestination =
local_recipient_maps =
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{relay_port}
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
# Every limit that would hold back a benchmark's single client is lifted.
in_flow_delay = 0s
default_process_limit = 200
default_destination_concurrency_limit = {concurrency}
smtp_destination_concurrency_limit = {concurrency}
initial_destination_concurrency = {concurrency}
default_destination_rate_delay = 0s
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_error_sleep_time = 0s
message_size_limit = 0
queue_minfree = 0
smtpd_tls_security_level = none
smtp_tls_security_level = none
"""

# Debian's services without chroot (a chroot would need copies of /etc files).
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixInstance:
    """A private Postfix relaying everything it accepts to 127.0.0.1:``relay_port``.

    Needs root (Postfix's master runs as root and drops to ``mail_owner``). Use as a
    context manager: the instance is stopped and its directory removed on exit.
    """

    def __init__(self, relay_port: int, *, concurrency: int = 20) -> None:
        if os.geteuid() != 0:
            raise PostfixError("a private Postfix instance needs root")
        self.postfix = find_tool("postfix")
        self.relay_port = relay_port
        self.concurrency = concurrency
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pwbench-postfix-"))
        self.root.chmod(0o755)  # the postfix user walks into its queue below
        self.config = self.root / "etc"
        self._started = False

    def start(self) -> None:
        """Write the configuration, create the queue and start the master."""
        self.config.mkdir()
        (self.root / "queue").mkdir()
        (self.root / "data").mkdir()
        shutil.chown(self.root / "data", "postfix")
        directories = {
            "meta": self._default("meta_directory", "/etc/postfix"),
            "command": self._default("command_directory", "/usr/sbin"),
            "daemon": self._default("daemon_directory", "/usr/lib/postfix/sbin"),
            "shlib": self._default("shlib_directory", "/usr/lib/postfix"),
        }
        (self.config / "main.cf").write_text(
            MAIN_CF.format(
                root=self.root, relay_port=self.relay_port, concurrency=self.concurrency,
                **directories,
            )
        )  # fmt: skip
        (self.config / "master.cf").write_text(MASTER_CF.format(port=self.port))
        self._run("check")
        self._run("start")
        self._started = True
        wait_for_port(self.port, 20.0)
        log.info("private Postfix listening on 127.0.0.1:%d, relaying to :%d (%s)",
                 self.port, self.relay_port, self.root)  # fmt: skip

    def queued(self) -> int:
        """Messages still in the instance's queue (files under its queue directories)."""
        count = 0
        for name in ("incoming", "active", "deferred", "hold", "maildrop"):
            folder = self.root / "queue" / name
            if folder.exists():
                count += sum(len(files) for _, _, files in os.walk(folder))
        return count

    def log_tail(self, lines: int = 20) -> str:
        """The end of the instance's mail log (for error messages)."""
        path = self.root / "maillog"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the master and its children, then remove the directory (idempotent)."""
        if self._started:
            self._started = False
            try:
                self._run("stop", check=False)
                self._wait_master_gone(15.0)
            except PostfixError as exc:
                log.warning("%s; aborting the instance", exc)
                self._run("abort", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostfixInstance:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _default(self, parameter: str, fallback: str) -> str:
        done = subprocess.run(
            [find_tool("postconf"), "-d", "-h", parameter],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        value = done.stdout.strip()
        return value if done.returncode == 0 and value else fallback

    def _run(self, action: str, *, check: bool = True) -> None:
        done = subprocess.run(
            [self.postfix, "-c", str(self.config), action],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise PostfixError(
                f"postfix {action} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[:800]}"
            )

    def _wait_master_gone(self, timeout: float) -> None:
        pid_file = self.root / "queue" / "pid" / "master.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pid = int(pid_file.read_text().split()[0])
                os.kill(pid, 0)
            except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
                return
            time.sleep(0.1)
        raise PostfixError(f"the Postfix master did not stop within {timeout:g} s")


def _stop(process: subprocess.Popen[bytes], name: str, grace: float = 5.0) -> None:
    if stop_process(process, grace):
        log.warning("%s (pid %d) ignored SIGTERM; killed it", name, process.pid)
