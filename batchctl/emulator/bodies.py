"""WSGI request and response bodies for the emulator's HTTP server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from io import BufferedIOBase
from typing import BinaryIO


class FileWrapper:
    """``wsgi.file_wrapper``: lets the server send a file with ``sendfile``."""

    def __init__(self, file: BinaryIO, block_size: int = 1 << 20) -> None:
        self.file = file
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.file.read(self.block_size):
            yield chunk

    def close(self) -> None:
        self.file.close()


class LengthReader:
    """``wsgi.input`` for a body with a Content-Length: never reads past the body."""

    def __init__(self, rfile: BufferedIOBase, length: int) -> None:
        self._rfile = rfile
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self._rfile.read(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readinto(self, buffer: memoryview) -> int:
        if self.remaining <= 0:
            return 0
        view = buffer[: self.remaining] if len(buffer) > self.remaining else buffer
        count = self._rfile.readinto(view) or 0
        self.remaining = self.remaining - count if count else 0
        return count

    def readline(self, size: int = -1) -> bytes:
        limit = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self._rfile.readline(limit) if limit > 0 else b""
        self.remaining -= len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def drain(self, limit: int) -> bool:
        if self.remaining > limit:
            return False
        while self.read(1 << 20):
            pass
        return True


class ChunkedReader(LengthReader):
    """``wsgi.input`` for a ``Transfer-Encoding: chunked`` body, decoded."""

    def __init__(self, rfile: BufferedIOBase) -> None:
        super().__init__(rfile, 0)
        self._done = False
        self._buffer = b""

    def _fill(self) -> None:
        line = self._rfile.readline(65537)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while self._rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._done = True
            return
        self._buffer = self._rfile.read(size)
        self._rfile.readline(3)  # CRLF after the chunk

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while (size is None or size < 0 or len(out) < size) and not self._done:
            if not self._buffer:
                self._fill()
                continue
            take = len(self._buffer) if size is None or size < 0 else size - len(out)
            out += self._buffer[:take]
            self._buffer = self._buffer[take:]
        if self._done and self._buffer and (size is None or size < 0 or len(out) < size):
            out += self._buffer
            self._buffer = b""
        return bytes(out)

    def readinto(self, buffer: memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        out = bytearray()
        while not out.endswith(b"\n") and (size is None or size < 0 or len(out) < size):
            byte = self.read(1)
            if not byte:
                break
            out += byte
        return bytes(out)

    def drain(self, limit: int) -> bool:
        total = 0
        while chunk := self.read(1 << 20):
            total += len(chunk)
            if total > limit:
                return False
        return True


class Chained:
    """An app's body with its first chunk already taken; closes the original."""

    def __init__(self, first: bytes, rest: Iterable[bytes], original: object) -> None:
        self._first, self._rest, self._original = first, rest, original

    def __iter__(self) -> Iterator[bytes]:
        yield self._first
        yield from self._rest

    def close(self) -> None:
        close = getattr(self._original, "close", None)
        if close is not None:
            close()
