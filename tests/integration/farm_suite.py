#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The farm test's driver (farm.test starts the farm): concurrent BITS clients upload
files through the front nginx, each packet of a session sent to another host than the
one before (X-Farm-Hop); midway one host is killed with SIGKILL and later started again,
and the database is restarted. Then every upload must be in the root byte-exact,
committed exactly once with its events, every client must have kept its one session per
file, and the bytes sent again must stay within one fragment per client per fault."""

import argparse
import hashlib
import http.client
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bits_client  # noqa: E402
import store_access  # noqa: E402

MIB = 1024 * 1024
HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
# What client 0 writes into X-Forwarded-For itself, which no host may believe.
SPOOFED_ADDRESS = "127.0.9.9"
FRAGMENT_SIZES = [64 * 1024, 256 * 1024, 1 * MIB, 4 * MIB]
# A spread from the empty file to 50 MiB; each client uploads two, the second from the
# other half of the list, so that the big ones overlap the faults.
FILE_SIZES = [0, 1, 4095, 65536, 65537, 200000, 700000, MIB, MIB + 1, 2 * MIB, 3 * MIB - 7,
              4 * MIB, 5 * MIB + 3, 6 * MIB, 7 * MIB, 8 * MIB + 1, 9 * MIB, 10 * MIB,
              11 * MIB, 12 * MIB + 5, 0, 300, 130000, 1500000, 2500000, 3500000, 4500000,
              5500000, 16 * MIB, 20 * MIB, 24 * MIB, 50 * MIB]
# A failed packet is sent again after these pauses (then the last, over and over), as
# BITS retries a transient error (its minimum retry delay is ten minutes): long enough
# that a database restarting on a loaded machine (1.3 s seen) is back.
RETRY_PAUSES = [3.0, 6.0, 10.0]
RETRY_LIMIT = 40


class Failure(Exception):
    pass


class Farm:
    """What the clients share: progress, the faults' times, which host is down."""

    def __init__(self, total_bytes):
        self.lock = threading.Lock()
        self.total_bytes = total_bytes
        self.acknowledged = 0
        self.down = None          # the host killed and not yet started again
        self.down_since = None
        self.down_until = None    # when requests may again find its primary up
        self.restarted_at = None  # when the killed host was started again
        self.faults = []          # (name, started, ended)
        self.stop = False

    def progress(self, count):
        with self.lock:
            self.acknowledged += count

    def fraction(self):
        with self.lock:
            return self.acknowledged / max(self.total_bytes, 1)

    def fault_at(self, moment):
        """The fault a request that failed at moment belongs to: the latest begun."""
        chosen = None
        for name, started, _ in self.faults:
            if started <= moment:
                chosen = name
        return chosen or "none"


class Attempt:
    def __init__(self, packet, hop, started, status, host, body_length, answer):
        self.answer = answer   # the failure's description, for the report
        self.packet = packet
        self.hop = hop
        self.started = started
        self.ended = time.monotonic()
        self.status = status   # None when the connection failed
        self.host = host
        self.body_length = body_length


class Client(threading.Thread):
    """One BITS client: its files one after the other, every packet retried with the same
    session after a 5xx or a connection error, never a second Create-Session once one
    was answered."""

    def __init__(self, number, base_url, files, fragment_size, farm):
        super().__init__(name="client-%d" % number, daemon=True)
        self.number = number
        self.base_url = base_url
        self.files = files
        self.fragment_size = fragment_size
        self.farm = farm
        self.hop = number % 3
        self.attempts = []        # every packet sent, in order
        self.sessions = {}        # file name -> the one session id it got
        self.lost_creates = {}    # file name -> Create-Session Acks not seen
        self.sent = 0             # body bytes sent, in every attempt
        self.error = None

    def run(self):
        transport = bits_client.HttpTransport(self.base_url, timeout=120,
                                              source=client_address(self.number))
        self.client = bits_client.BitsClient(transport)
        try:
            for name, path, size in self.files:
                self.upload(name, path, size)
        except Exception as error:  # reported by the main thread
            self.error = "%s: %s" % (self.name, error)
        finally:
            transport.close()

    def send(self, url_path, packet, headers=(), body=b""):
        """Sends until an Ack other than a 5xx arrives; returns it."""
        pauses = 0
        while True:
            hop = self.hop
            self.hop = (self.hop + 1) % 3
            started = time.monotonic()
            response = None
            try:
                response = self.client.request(
                    url_path, packet, list(headers) + [("X-Farm-Hop", str(hop))], body,
                    check=False)
            except (OSError, http.client.HTTPException):
                self.client.transport.close()
            status = response.status if response is not None else None
            host = response.header("X-Farm-Host") if response is not None else None
            failed = status is None or status >= 500
            self.attempts.append(Attempt(packet, hop, started, status, host, len(body),
                                         (response.describe() if response is not None
                                          else "no connection") if failed else None))
            self.sent += len(body)
            if status is not None and status < 500:
                problems = bits_client.ack_problems(response, packet)
                if problems:
                    raise Failure("%s %s: %s; %s" % (packet, url_path, "; ".join(problems),
                                                     response.describe()))
                return response
            if pauses >= RETRY_LIMIT:
                raise Failure("%s %s: still failing after %d retries (%s)" % (
                    packet, url_path, pauses,
                    response.describe() if response is not None else "no connection"))
            time.sleep(RETRY_PAUSES[min(pauses, len(RETRY_PAUSES) - 1)])
            pauses += 1

    def upload(self, name, path, size):
        url_path = "/uploads/" + name
        created = self.create(name, url_path)
        headers = [("BITS-Session-Id", created)]
        with open(path, "rb") as source:
            if size == 0:
                answer = self.send(url_path, "Fragment", headers + [
                    ("Content-Range", bits_client.ZERO_BYTE_RANGE)])
                self.expect(answer, (200,), "zero-byte Fragment of " + name)
            else:
                self.send_fragments(url_path, headers, source, size)
        answer = self.send(url_path, "Close-Session", headers)
        self.expect(answer, (200,), "Close-Session of " + name)

    def create(self, name, url_path):
        while True:
            before = len(self.attempts)
            answer = self.send(url_path, "Create-Session", [
                ("BITS-Supported-Protocols", bits_client.PROTOCOL_GUID),
                ("Content-Name", name)] + self.spoofed_address())
            self.expect(answer, (200, 201), "Create-Session of " + name)
            # Create-Sessions that failed may have made sessions whose Acks were lost:
            # such an orphan has no byte, and the client cannot know its id.
            lost = len(self.attempts) - before - 1
            if lost:
                self.lost_creates[name] = self.lost_creates.get(name, 0) + lost
            self.sessions[name] = answer.session_id
            return answer.session_id

    def send_fragments(self, url_path, headers, source, size):
        offset = 0
        while offset < size:
            last = min(offset + self.fragment_size, size) - 1
            source.seek(offset)
            body = source.read(last - offset + 1)
            answer = self.send(url_path, "Fragment", headers + [
                ("Content-Range", "bytes %d-%d/%d" % (offset, last, size)),
                ("Content-Name", os.path.basename(url_path))], body)
            self.expect(answer, (200, 416), "Fragment %d-%d/%d" % (offset, last, size))
            received = answer.received
            if received is None or received > size or received < offset:
                raise Failure("Fragment %d-%d/%d of %s: held %r" % (
                    offset, last, size, url_path, received))
            self.farm.progress(received - offset)
            offset = received

    def spoofed_address(self):
        """Client 0 claims another address: the hosts must believe only the front."""
        return [("X-Forwarded-For", SPOOFED_ADDRESS)] if self.number == 0 else []

    @staticmethod
    def expect(answer, statuses, what):
        if answer.status not in statuses:
            raise Failure("%s: %s" % (what, answer.describe()))


# ---- the files ----

def client_address(number):
    """Client number's own machine: 127.0.1.1, 127.0.1.2, ..., apart from the front
    (127.0.0.1) and the hosts."""
    return "127.0.1.%d" % (number + 1)


def make_files(directory, clients, seed):
    generator = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    plan = []
    for number in range(clients):
        files = []
        for index, size in enumerate((FILE_SIZES[number % len(FILE_SIZES)],
                                      FILE_SIZES[(number + len(FILE_SIZES) // 2)
                                                 % len(FILE_SIZES)])):
            name = "client%02d-file%d-%d.bin" % (number, index, size)
            path = os.path.join(directory, name)
            with open(path, "wb") as sink:
                left = size
                while left > 0:
                    block = min(left, 4 * MIB)
                    sink.write(generator.randbytes(block))
                    left -= block
            files.append((name, path, size))
        plan.append(files)
    return plan


# ---- the faults ----

def process_tree(pid):
    pids = [pid]
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as listing:
            for child in listing.read().split():
                pids.extend(process_tree(int(child)))
    except OSError:
        pass
    return pids


def kill_host(test_directory, host):
    """SIGKILL to the host's nginx and its responders, workers and supervisor alike."""
    directory = os.path.join(test_directory, "host" + host.rsplit(".", 1)[1])
    victims = []
    for name in ("nginx.pid", "bitspool.pid"):
        with open(os.path.join(directory, name)) as pid_file:
            for word in pid_file.read().split():
                victims.extend(process_tree(int(word)))
    # Stopped first, so that no supervisor replaces a responder killed before it.
    for pid in victims:
        os.kill(pid, signal.SIGSTOP)
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    return len(victims)


def run_command(command, what):
    started = time.monotonic()
    result = subprocess.run(shlex.split(command), stdout=subprocess.DEVNULL)
    if result.returncode != 0:
        raise Failure("%s: %s exited %d" % (what, command, result.returncode))
    return time.monotonic() - started


def ping_every_responder(url, host, log):
    """Three rounds of six concurrent Pings to the host, so that each of its responders
    answers one (a Ping counts itself in the database).

    A responder idle through the database's restart only finds its connection dead on
    the next statement it runs, and answers that request 503: a shortcoming of the
    backend (an idle connection could be checked before use), which the clients in
    flight have already paid for once. These Pings take that second 503 instead of a
    client's retry; any Ping not answered 200 is logged."""
    port = urllib.parse.urlsplit(url).port
    failed = 0
    for _ in range(3):
        answers = []

        def ping():
            transport = bits_client.HttpTransport("http://%s:%d/" % (host, port), timeout=30)
            try:
                answers.append(bits_client.BitsClient(transport).request(
                    "/uploads/", "Ping", check=False).status)
            except (OSError, http.client.HTTPException):
                answers.append(None)
            finally:
                transport.close()
        threads = [threading.Thread(target=ping) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failed += sum(1 for status in answers if status != 200)
    if failed:
        log("host %s: %d Pings after the database's restart not answered 200" % (host, failed))


def run_faults(arguments, farm, log):
    """Kill a host at 20 % of the bytes, start it again at 45 %, restart the database
    at 65 % (and 3 s after the host is back), while the clients run."""
    def wait_for(fraction):
        while farm.fraction() < fraction and not farm.stop:
            time.sleep(0.05)
        return not farm.stop

    victim = HOSTS[1]
    if not wait_for(0.20):
        return
    started = time.monotonic()
    killed = kill_host(arguments.test_directory, victim)
    with farm.lock:
        farm.down, farm.down_since = victim, started
    log("%.1f s: host %s killed (%d processes, SIGKILL) at %.0f %% of the bytes" % (
        started - farm.began, victim, killed, 100 * farm.fraction()))
    if not wait_for(0.45):
        return
    run_command("%s %s" % (arguments.start_host_command, victim.rsplit(".", 1)[1]),
                "starting host " + victim)
    ended = time.monotonic()
    with farm.lock:
        farm.down = None
        # The front tries a failed primary again after its fail_timeout (1 s).
        farm.down_until = ended + 2.0
        farm.restarted_at = ended
        farm.faults.append(("host killed", started, ended))
    log("%.1f s: host %s started again after %.1f s down" % (
        ended - farm.began, victim, ended - started))
    # Apart from the host's fault, so that each fault's re-sent bytes are its own, and
    # with the restarted host back in the front's rotation.
    if not arguments.restart_database_command or not wait_for(0.65):
        return
    while time.monotonic() < ended + 3.0 and not farm.stop:
        time.sleep(0.05)
    started = time.monotonic()
    seconds = run_command(arguments.restart_database_command, "restarting the database")
    farm.faults.append(("database restarted", started, time.monotonic()))
    for host in HOSTS:
        ping_every_responder(arguments.url, host, log)
    log("%.1f s: database restarted in %.1f s at %.0f %% of the bytes" % (
        started - farm.began, seconds, 100 * farm.fraction()))


# ---- the checks ----

class Database:
    """Reads the shared store: psql for PostgreSQL, the sqlite3 module for a file."""

    def __init__(self, where):
        self.where = where

    def rows(self, query, *parameters):
        if self.where.startswith("postgres"):
            text = query
            for value in parameters:
                text = text.replace("?", "'%s'" % str(value).replace("'", "''"), 1)
            output = subprocess.run(["psql", "-X", "-A", "-t", "-F", "\t", "-v",
                                     "ON_ERROR_STOP=1", "-d", self.where, "-c", text],
                                    check=True, capture_output=True, text=True).stdout
            return [tuple(line.split("\t")) for line in output.splitlines() if line]
        connection = sqlite3.connect(self.where, timeout=30)
        try:
            return [tuple(str(value) for value in row)
                    for row in connection.execute(query, parameters).fetchall()]
        finally:
            connection.close()


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def check_uploads(arguments, clients, problems):
    database = Database(arguments.database)
    sessions = {}
    for row in database.rows("SELECT url_path, id, state, held_size FROM sessions"):
        sessions.setdefault(row[0], []).append(row[1:])
    commits = {}
    for row in database.rows("SELECT session_id, count(*) FROM events "
                             "WHERE message LIKE 'committed%' GROUP BY session_id"):
        commits[row[0]] = int(row[1])
    written = {}
    for row in database.rows("SELECT session_id, sum(bytes) FROM events "
                             "WHERE packet = 'Fragment' GROUP BY session_id"):
        written[row[0]] = int(row[1])
    checked = 0
    for client in clients:
        for name, path, size in client.files:
            checked += 1
            url_path = "/uploads/" + name
            session_id = client.sessions.get(name)
            stored = os.path.join(arguments.root, name)
            if not os.path.exists(stored) or file_digest(stored) != file_digest(path):
                problems.append("%s: not in the root byte-exact" % name)
            rows = sessions.get(url_path, [])
            committed = [row for row in rows if row[1] == "committed"]
            if len(committed) != 1 or committed[0][0] != session_id:
                problems.append("%s: committed sessions %r, the client's was %s" % (
                    name, committed, session_id))
            others = [row for row in rows if row[0] != session_id]
            if len(others) > client.lost_creates.get(name, 0) or \
                    any(int(row[2]) != 0 for row in others):
                problems.append("%s: a second session: %r" % (name, others))
            if commits.get(session_id, 0) != 1:
                problems.append("%s: %d commit events" % (name, commits.get(session_id, 0)))
            if written.get(session_id, 0) != size:
                problems.append("%s: the Fragment events wrote %d bytes, not %d" % (
                    name, written.get(session_id, 0), size))
    return checked


def check_client_addresses(arguments, clients, problems):
    """Each session is recorded with its client's own address, as the front saw it
    (the hosts' nginx takes it from the front's X-Forwarded-For): not the front's, which
    every client would share, and not one a client wrote into the header itself."""
    database = Database(arguments.database)
    recorded = dict(database.rows("SELECT id, client_address FROM sessions"))
    for client in clients:
        for name, session_id in client.sessions.items():
            if recorded.get(session_id) != client_address(client.number):
                problems.append("%s: recorded from %r, sent from %s" % (
                    name, recorded.get(session_id), client_address(client.number)))


def fault_window_end(farm, clients):
    """When the killed host was back in the front's rotation: the later of down_until
    and the end of the first packet it served after its restart. On a loaded machine
    its responders may refuse the front's first connections, and each refusal keeps it
    out for another fail_timeout."""
    if farm.down_until is None:
        return float("inf")
    served_again = [attempt.ended for client in clients for attempt in client.attempts
                    if attempt.host == HOSTS[1] and attempt.started >= farm.restarted_at]
    return max([farm.down_until] + ([min(served_again)] if served_again else []))


def check_hops(farm, clients, problems):
    """Outside the time a host was down, each packet went to its hop's host, hence to
    another host than the packet before it."""
    served = {host: 0 for host in HOSTS}
    same_in_a_row = 0
    pairs = 0
    window_end = fault_window_end(farm, clients)
    for client in clients:
        previous = None
        for attempt in client.attempts:
            if attempt.host is None:
                previous = None
                continue
            served[attempt.host] = served.get(attempt.host, 0) + 1
            during_fault = farm.down_since is not None and \
                attempt.ended >= farm.down_since and attempt.started <= window_end
            if not during_fault and attempt.host != HOSTS[attempt.hop]:
                problems.append("%s: %s with hop %d went to %s, not %s (%.2f-%.2f s; host "
                                "down %.2f-%.2f s)" % (
                    client.name, attempt.packet, attempt.hop, attempt.host,
                    HOSTS[attempt.hop], attempt.started - farm.began,
                    attempt.ended - farm.began, (farm.down_since or farm.began) - farm.began,
                    min(window_end, time.monotonic()) - farm.began))
            if previous is not None:
                pairs += 1
                if previous == attempt.host:
                    same_in_a_row += 1
            previous = attempt.host
    return served, pairs, same_in_a_row


def check_resent(farm, clients, problems, log):
    """Bytes sent in failed attempts, by fault: at most one fragment per client per
    fault."""
    per_fault = {}
    for client in clients:
        budget = client.fragment_size * max(len(farm.faults), 1)
        resent = client.sent - sum(size for _, _, size in client.files)
        if resent > budget:
            problems.append("%s: %d bytes sent again, over %d (one %d-byte fragment per "
                            "fault)" % (client.name, resent, budget, client.fragment_size))
        for attempt in client.attempts:
            if attempt.status is not None and attempt.status < 500:
                continue
            fault = farm.fault_at(attempt.ended)
            entry = per_fault.setdefault(fault, {"failed": 0, "bytes": 0, "clients": set(),
                                                 "fragments": 0})
            entry["failed"] += 1
            entry["bytes"] += attempt.body_length
            entry["clients"].add(client.name)
            if attempt.body_length:
                entry["fragments"] += attempt.body_length / client.fragment_size
        for fault in per_fault:
            failed = [attempt for attempt in client.attempts
                      if (attempt.status is None or attempt.status >= 500)
                      and farm.fault_at(attempt.ended) == fault]
            if sum(attempt.body_length for attempt in failed) > client.fragment_size:
                problems.append("%s sent more than one fragment again for %s: %s" % (
                    client.name, fault, "; ".join(
                        "%s of %d bytes at %.2f-%.2f s from %s: %s" % (
                            attempt.packet, attempt.body_length,
                            attempt.started - farm.began, attempt.ended - farm.began,
                            attempt.host, attempt.answer)
                        for attempt in failed)))
    total = sum(client.sent - sum(size for _, _, size in client.files) for client in clients)
    for fault, entry in sorted(per_fault.items()):
        log("re-sent for %s: %d failed packets from %d clients, %d bytes (%.2f fragments "
            "per client hit)" % (fault, entry["failed"], len(entry["clients"]),
                                 entry["bytes"], entry["fragments"] /
                                 max(len(entry["clients"]), 1)))
    return total


def check_gc_on_one_host(arguments, problems, log):
    """bitspoolctl gc on a host: with the maintenance lock held elsewhere (as another
    host's gc round holds it) it does nothing and says so; once free, it runs."""
    configuration = os.path.join(arguments.test_directory, "host2", "bitspool.conf")
    command = [arguments.bitspoolctl, "-f", configuration, "gc"]
    try:
        holder = store_access.AdvisoryLock(arguments.database,
                                           store_access.MAINTENANCE_LOCK_KEY, "gc")
    except store_access.Error as error:
        problems.append(str(error))
        return
    try:
        held = subprocess.run(command, capture_output=True, text=True, timeout=60)
    finally:
        holder.release()
    if held.returncode != 0 or "another host of the farm is cleaning up" not in held.stderr:
        problems.append("bitspoolctl gc with the gc lock held elsewhere: exit %d, %r" % (
            held.returncode, held.stderr))
    free = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if free.returncode != 0 or "another host" in free.stderr:
        problems.append("bitspoolctl gc with the gc lock free: exit %d, %r" % (
            free.returncode, free.stderr))
    if not problems:
        log("bitspoolctl gc skips its round while another host holds the gc lock, "
            "runs once it is free")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--database", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--work-directory", required=True)
    parser.add_argument("--test-directory", required=True)
    parser.add_argument("--start-host-command", required=True)
    parser.add_argument("--restart-database-command", default="")
    parser.add_argument("--bitspoolctl", required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seed", type=int, default=13)
    arguments = parser.parse_args()

    began = time.monotonic()

    def log(text):
        print("farm: " + text, flush=True)

    plan = make_files(arguments.work_directory, arguments.clients, arguments.seed)
    total = sum(size for files in plan for _, _, size in files)
    log("%d clients, %d files, %.1f MiB, made in %.1f s" % (
        arguments.clients, sum(len(files) for files in plan), total / MIB,
        time.monotonic() - began))
    farm = Farm(total)
    farm.began = time.monotonic()
    clients = [Client(number, arguments.url, plan[number],
                      FRAGMENT_SIZES[number % len(FRAGMENT_SIZES)], farm)
               for number in range(arguments.clients)]
    for client in clients:
        client.start()
    fault_errors = []

    def faults():
        try:
            run_faults(arguments, farm, log)
        except Exception as error:
            fault_errors.append(str(error))

    fault_thread = threading.Thread(target=faults, daemon=True)
    fault_thread.start()
    for client in clients:
        client.join()
    farm.stop = True
    fault_thread.join()
    seconds = time.monotonic() - farm.began
    log("uploads done in %.1f s: %.1f MiB/s" % (seconds, total / MIB / seconds))

    problems = [client.error for client in clients if client.error] + fault_errors
    expected_faults = 2 if arguments.restart_database_command else 1
    if len(farm.faults) != expected_faults:
        problems.append("%d faults happened, not %d: the uploads ended first" % (
            len(farm.faults), expected_faults))
    checked = check_uploads(arguments, clients, problems)
    check_client_addresses(arguments, clients, problems)
    if Database(arguments.database).where.startswith("postgres"):
        check_gc_on_one_host(arguments, problems, log)
    served, pairs, same = check_hops(farm, clients, problems)
    log("packets served: %s; %d of %d consecutive packets went to the same host "
        "(while a host was down)" % (", ".join("%s %d" % item for item in
                                               sorted(served.items())), same, pairs))
    resent = check_resent(farm, clients, problems, log)
    log("re-sent in all: %d bytes over %d clients and %d faults" % (
        resent, len(clients), len(farm.faults)))
    for problem in problems[:40]:
        print("FAIL: " + problem, file=sys.stderr)
    if problems:
        return 1
    log("ok: %d uploads committed once, byte-exact, one session each" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
