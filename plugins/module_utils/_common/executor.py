# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where plan actions run: in order, recorded, or only recorded in check mode.

Every backend builds ``_common.plan.Action`` objects that carry what they show (``kind``,
``description``, ``argv``) and what they run (``run``, a callable without arguments).
The executor records exactly the action it was given, so the ``actions`` of a check-mode
run equal the ``actions`` of the real run, and any ``LxcriError`` raised while an action
runs (or while ``recording``) leaves with ``actions`` (the ones that finished) and
``failed_action`` (the one that failed) in its details.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import Action, Plan


class Executor:
    """Runs (or, in check mode, only records) the actions of one plan."""

    def __init__(self, plan: Plan, check_mode: bool = False) -> None:
        self.plan = plan
        self.check_mode = check_mode
        self._ran: set[int] = set()
        self._cursor: int | None = None

    def record(self, kind: str, description: str, argv: list[str] | None = None, run: Callable[[], object] | None = None) -> Action:
        """Add an action to the plan and run it now (unless check mode): for plans whose next step depends on the last.

        Called by a running action (a stop that has to escalate to SIGKILL), the new action goes right after it.
        """
        action = Action(kind, description, argv=argv, run=run)
        done = None if self._cursor is None else self.plan.actions[:self._cursor + 1]
        self._run(action, done)
        self._ran.add(id(action))
        if self._cursor is None:
            self.plan.actions.append(action)
        else:
            self._cursor += 1
            self.plan.actions.insert(self._cursor, action)
        return action

    def execute(self) -> None:
        """Run every action of the plan that ``record`` has not run yet, in order (nothing in check mode)."""
        done: list[Action] = []
        self._cursor = 0
        try:
            with self._attach(done):
                while self._cursor < len(self.plan.actions):
                    action = self.plan.actions[self._cursor]
                    if id(action) not in self._ran:
                        self._run(action, done)
                        self._ran.add(id(action))
                    done.extend(self.plan.actions[len(done):self._cursor + 1])
                    self._cursor += 1
        finally:
            self._cursor = None

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Failures raised inside (a read-back, a verification) carry the actions of the plan."""
        with self._attach(self.plan.actions):
            yield

    def _run(self, action: Action, done: list[Action] | None = None) -> None:
        if self.check_mode or action.run is None:
            return
        try:
            action.run()
        except LxcriError as exc:
            exc.details.setdefault("actions", [item.to_result() for item in (self.plan.actions if done is None else done)])
            exc.details.setdefault("failed_action", action.to_result())
            raise

    @contextlib.contextmanager
    def _attach(self, done: list[Action]) -> Iterator[None]:
        try:
            yield
        except LxcriError as exc:
            exc.details.setdefault("actions", [item.to_result() for item in done])
            raise
