"""A TCP relay between a collector and its database, to stop the database answering (frozen) or reaching it at all
(closed) in the middle of a test."""

from __future__ import annotations

import contextlib
import socket
import threading


class FreezableProxy:
    """A TCP relay to `target` that can stop relaying: what is sent waits in the sockets, unanswered, as behind a
    host that drops packets (while `frozen`, connections are still accepted, and nothing moves)."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.moving = threading.Event()
        self.moving.set()
        self.listener = socket.create_server(("127.0.0.1", port))  # a given port: the database back where it was
        self.port = self.listener.getsockname()[1]
        self.closed = False
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                self.moving.wait()
                data = source.recv(65536)
                if not data:
                    break
                self.moving.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.closed = True
        self.moving.set()
        # Closing alone would leave the thread blocked in accept() accepting one more connection (Linux); shutdown
        # wakes it, so nothing reaches the database after this.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for end in self.sockets:
            end.close()
