"""Sound for cues: a short tone made with numpy, and spoken phrases.

The tone goes to PortAudio through ``sounddevice`` (the ``audio`` extra; Debian's
``libportaudio2``), else to ALSA's ``aplay``; phrases go to ``espeak-ng`` when it is
installed. All of it runs on one worker thread, so the live loop never waits for a
sound, and none of it can fail a session: with no sound device (or no player) the cue is
still shown and recorded, and one warning says why there was no sound.

Onset is measured per tone from the cue decision (the moment the engine fired) to the
player call returning: for sounddevice, the stream has been opened and the buffer handed
to PortAudio; for aplay, the process is started and the buffer written to its pipe. It
does not include the sound device's own output latency (PortAudio reports it for a real
device: typically 10-40 ms).
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hingecoach.core.errors import ExtraMissingError
from hingecoach.core.extras import require


@dataclass(frozen=True)
class AudioSettings:
    """Sound and speech for cues: the tone (Hz, s, share of full scale), the player, the voice."""

    sound: bool = True
    speech: bool = True
    tone_hz: float = 880.0  # A5: clearly audible, not shrill
    tone_s: float = 0.15  # short enough not to mask the next cue
    fade_s: float = 0.01  # raised-cosine ramps: no click
    volume: float = 0.5  # of full scale
    sample_rate_hz: int = 44_100
    player: str = "auto"  # auto (sounddevice, else aplay), sounddevice, aplay
    voice: str = "en"
    words_per_minute: int = 170


def tone(settings: AudioSettings | None = None) -> np.ndarray:
    """The cue tone: a sine with raised-cosine fades, int16 mono."""
    s = settings or AudioSettings()
    n = round(s.tone_s * s.sample_rate_hz)
    t = np.arange(n) / s.sample_rate_hz
    x = np.sin(2 * np.pi * s.tone_hz * t)
    k = max(1, round(s.fade_s * s.sample_rate_hz))
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k))
    x[:k] *= ramp
    x[-k:] *= ramp[::-1]
    return np.asarray(np.round(x * s.volume * 32767), dtype=np.int16)


class NoPlayer(Exception):
    """No way to play sound here (the reason is the message)."""


class SoundDevicePlayer:
    """Plays through PortAudio with ``sounddevice`` (the ``audio`` extra); NoPlayer if it cannot."""

    name = "sounddevice"

    def __init__(self, rate: int) -> None:
        try:
            sd = require("audio", "sounddevice", "sound through PortAudio")
        except ExtraMissingError as e:
            raise NoPlayer(f"sounddevice unavailable ({e})") from None
        except OSError as e:  # the PortAudio library itself is missing
            raise NoPlayer(f"sounddevice unavailable ({str(e)[:80]})") from None
        try:
            sd.query_devices(kind="output")
        except Exception as e:  # sounddevice raises PortAudioError or ValueError
            raise NoPlayer(f"no sound output device ({str(e)[:80]})") from None
        self.sd = sd
        self.rate = rate

    def play(self, buf: np.ndarray) -> None:
        """Start playing ``buf`` (int16 mono) without waiting for it to end."""
        self.sd.play(buf, self.rate, blocking=False)

    def close(self) -> None:
        """Stop any sound still playing."""
        with contextlib.suppress(Exception):
            self.sd.stop()


class AplayPlayer:
    """Plays through ALSA's ``aplay`` (one process per tone); NoPlayer if ALSA has no device."""

    name = "aplay"

    def __init__(self, rate: int) -> None:
        exe = shutil.which("aplay")
        if exe is None:
            raise NoPlayer("aplay not installed (Debian: alsa-utils)")
        self.cmd = [exe, "-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(rate)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.failed: str | None = None
        # a few ms of silence tells at once whether ALSA has a device to play on
        try:
            r = subprocess.run(self.cmd, input=bytes(2 * max(1, rate // 200)), capture_output=True,
                               timeout=3)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise NoPlayer(f"aplay does not run ({str(e)[:80]})") from None
        if r.returncode != 0:
            err = r.stderr.decode(errors="replace").strip().splitlines()
            raise NoPlayer(f"aplay: {err[-1][:100] if err else f'exit code {r.returncode}'}")

    def play(self, buf: np.ndarray) -> None:
        """Start an ``aplay`` process for ``buf`` (int16 mono) and hand it the samples."""
        self._reap()
        p = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        self.procs.append(p)
        try:
            assert p.stdin is not None
            p.stdin.write(buf.tobytes())
            p.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def _reap(self) -> None:
        for p in list(self.procs):
            if p.poll() is not None:
                self.procs.remove(p)
                if p.returncode != 0 and self.failed is None:
                    err = (p.stderr.read() if p.stderr else b"").decode(errors="replace").strip()
                    self.failed = err.splitlines()[-1][:120] if err else f"exit code {p.returncode}"
                if p.stderr:
                    p.stderr.close()

    def close(self) -> None:
        """Wait briefly for the tones still playing."""
        for p in self.procs:
            with contextlib.suppress(Exception):
                p.wait(timeout=1)
        self._reap()


def open_player(settings: AudioSettings) -> SoundDevicePlayer | AplayPlayer:
    """The first player that works, in order of preference; NoPlayer lists why none did."""
    kinds = ["sounddevice", "aplay"] if settings.player == "auto" else [settings.player]
    why = []
    for k in kinds:
        try:
            if k == "sounddevice":
                return SoundDevicePlayer(settings.sample_rate_hz)
            if k == "aplay":
                return AplayPlayer(settings.sample_rate_hz)
            why.append(f"unknown player {k!r}")
        except NoPlayer as e:
            why.append(str(e))
    raise NoPlayer("; ".join(why))


class AudioOut:
    """Tones and phrases on a worker thread. ``cue(decided_s)`` and ``say(text)`` return
    at once; ``onsets_ms`` collects the measured tone onsets; ``warn`` is called (from the
    worker thread) once if sound is not possible."""

    def __init__(self, settings: AudioSettings | None = None, *,
                 warn: Callable[[str], None] | None = None,
                 player_factory: Callable[[AudioSettings], Any] = open_player,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.settings = s = settings or AudioSettings()
        self.buf = tone(s)
        self.onsets_ms: list[float] = []
        self.played = 0
        self.spoken = 0
        self.status = "off"
        self._warn = warn or (lambda m: None)
        self._clock = clock
        self._q: queue.Queue[tuple[str, Any, float] | None] = queue.Queue()
        self._player: Any = None
        self._espeak = shutil.which("espeak-ng") if s.speech else None
        self._speech: subprocess.Popen[bytes] | None = None
        self._factory = player_factory
        self._thread = threading.Thread(target=self._run, name="hingecoach-audio", daemon=True)
        self._thread.start()

    def cue(self, decided_s: float, phrase: str | None = None) -> None:
        """Queue the tone (and ``phrase`` when speech is on); ``decided_s`` is the clock time of the decision."""
        if self.settings.sound:
            self._q.put(("tone", None, decided_s))
        if phrase and self._espeak:
            self._q.put(("say", phrase, decided_s))

    def say(self, text: str) -> None:
        """Queue ``text`` to be spoken (nothing when espeak-ng is absent)."""
        if self._espeak:
            self._q.put(("say", text, self._clock()))

    def _run(self) -> None:
        if self.settings.sound:
            try:
                self._player = self._factory(self.settings)
                self.status = self._player.name
            except NoPlayer as e:
                self.status = f"none: {e}"
                self._warn(f"no sound: {e}; cues are shown and recorded")
        while True:
            item = self._q.get()
            if item is None:
                return
            kind, payload, decided = item
            if kind == "tone" and self._player is not None:
                try:
                    self._player.play(self.buf)
                    self.onsets_ms.append((self._clock() - decided) * 1000.0)
                    self.played += 1
                except Exception as e:  # a device that vanished mid-session: never fatal
                    self._warn(f"sound stopped working ({str(e)[:100]}); cues are shown and recorded")
                    self._player = None
                    self.status = f"none: {str(e)[:80]}"
                failed = getattr(self._player, "failed", None)
                if failed:
                    self._warn(f"no sound from aplay ({failed}); cues are shown and recorded")
                    self._player = None
                    self.status = f"none: aplay: {failed}"
            elif kind == "say":
                self._speak(str(payload))

    def _speak(self, text: str) -> None:
        if self._espeak is None:
            return
        if self._speech is not None and self._speech.poll() is None:
            return  # still speaking the last phrase: the tone already marked this one
        s = self.settings
        try:
            self._speech = subprocess.Popen([self._espeak, "-v", s.voice, "-s", str(s.words_per_minute), text],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.spoken += 1
        except OSError:
            self._espeak = None

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the worker thread (waiting up to ``timeout_s`` s) and the players."""
        self._q.put(None)
        self._thread.join(timeout=timeout_s)
        if self._player is not None:
            self._player.close()
        if self._speech is not None:
            with contextlib.suppress(Exception):
                self._speech.wait(timeout=timeout_s)
