"""rulestore.py: RuleStore addon: owns the live RuleSet; loads it in configure, hot-reloads on change.

Invariant: `ruleset` only ever holds a fully validated RuleSet. A broken edit is refused, the last
good rules stay live, and a config event says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from mitmproxy import command
from mitmproxy import ctx
from mitmproxy import exceptions

from addons.rules import RuleError
from addons.rules import RuleSet
from addons.rules import load_ruleset
from addons.rules import rules_fingerprint

log = logging.getLogger(__name__)

def parse_seconds(name: str, value: str) -> float:
    """A non-negative number of seconds from an option string, or OptionsError naming the option."""
    try:
        seconds = float(value)
    except ValueError:
        raise exceptions.OptionsError(f"{name} must be a number of seconds such as 0.5, not {value!r}") from None
    if not 0 <= seconds < 86400:
        raise exceptions.OptionsError(f"{name} must be between 0 and 86400 seconds, not {value!r}")
    return seconds


type ConfigListener = Callable[[bool, str, list[str], dict[str, int], str], None]


class RuleStore:
    def __init__(self) -> None:
        self.ruleset: RuleSet | None = None
        self.listeners: list[ConfigListener] = []
        self._watch_task: asyncio.Task | None = None
        self._seen: str = ""
        self.poll = 1.0

    def load(self, loader) -> None:
        loader.add_option(
            "sg_rules",
            str,
            "rules",
            "Directory with the shadowgate rules (apps/, detectors/, mcp/, policies/, identities/).",
        )
        loader.add_option(
            "sg_rules_poll",
            str,
            "1",
            "Seconds between checks of the rules directory for changes (e.g. 0.5); 0 disables hot reload.",
        )

    def configure(self, updated: set[str]) -> None:
        if "sg_rules_poll" in updated:
            self.poll = parse_seconds("sg_rules_poll", ctx.options.sg_rules_poll)
        if "sg_rules" not in updated:
            return
        directory = ctx.options.sg_rules
        current = self.ruleset
        if (
            current is not None
            and Path(directory).resolve() == Path(current.directory)
            and rules_fingerprint(Path(directory)) == current.fingerprint
        ):
            return  # e.g. optmanager rolling back a refused change: these rules are already live
        try:
            new = load_ruleset(directory)
        except RuleError as e:
            self._announce(False, directory, e.problems, {}, "load")
            raise exceptions.OptionsError(f"Cannot load rules from {directory}:\n{e}") from e
        self.ruleset = new
        self._seen = new.fingerprint
        self._announce(True, directory, [], new.counts, "load")
        log.info("shadowgate rules loaded from %s: %s", directory, new.counts)

    def running(self) -> None:
        if self.poll > 0 and self._watch_task is None:
            self._watch_task = asyncio.get_running_loop().create_task(self._watch())
        if self.ruleset is not None:  # `shadowgate run` printed the banner; this says the port is open
            host = ctx.options.listen_host or "0.0.0.0"
            print(f"shadowgate: ready, listening on {host}:{ctx.options.listen_port}", flush=True)

    def done(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(max(self.poll, 0.1))
            directory = ctx.options.sg_rules
            try:
                current = await asyncio.to_thread(rules_fingerprint, Path(directory))
            except OSError:
                continue
            if current != self._seen:
                self._seen = current
                await self.reload_async()

    async def reload_async(self) -> bool:
        directory = ctx.options.sg_rules
        try:
            new = await asyncio.to_thread(load_ruleset, directory)
        except RuleError as e:
            log.error("shadowgate rules reload refused, keeping the last good rules:\n%s", e)
            self._announce(False, directory, e.problems, self.ruleset.counts if self.ruleset else {}, "reload")
            return False
        except Exception as e:  # a bug in a loader must not take the proxy down
            log.exception("shadowgate rules reload failed unexpectedly, keeping the last good rules")
            self._announce(False, directory, [f"{directory}:1: internal error: {type(e).__name__}"], {}, "reload")
            return False
        self.ruleset = new
        self._seen = new.fingerprint
        log.info("shadowgate rules reloaded from %s: %s", directory, new.counts)
        self._announce(True, directory, [], new.counts, "reload")
        return True

    @command.command("sg.rules.reload")
    def reload(self) -> None:
        """Reload the rules now; a broken edit is refused and the last good rules stay live."""
        asyncio.get_running_loop().create_task(self.reload_async())

    def _announce(self, ok: bool, directory: str, problems: list[str], counts: dict[str, int], what: str) -> None:
        for listener in self.listeners:
            listener(ok, directory, problems, counts, what)
