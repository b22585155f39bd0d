# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converge many containers in one module run: validate every item first, then a bounded pool of workers.

Items are grouped into lanes: the items of one lane run one after the other (in declared order),
lanes run in parallel on at most ``parallel`` threads.  Every item ends with a result of its own
(``changed``, ``actions``, ``diff``, ``status`` or ``error_kind``/``msg``); one failure never stops
the others, and the module fails at the end naming each failed item.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import INVALID_ARGUMENT, TASK_FAILED, LxcriError


def validate_items(items: list, spec: dict, label: Callable[[dict], str], required_if=None, unsupported=()) -> tuple[list[dict], set]:
    """Each item checked against ``spec`` (the single-container module's own): ``(validated params, values to hide)``.

    The first bad item fails the whole run before anything is read or changed, naming the item and the field.
    """
    validator = ArgumentSpecValidator(spec, required_if=required_if)
    validated = []
    no_log_values = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise LxcriError("containers[%d]: each item must be a dict of options, got %s" % (index, type(item).__name__), INVALID_ARGUMENT,
                             details={"field": "containers[%d]" % index})
        where = "containers[%d] (%s)" % (index, label(item))
        for key in unsupported:
            if item.get(key) is not None:
                raise LxcriError("%s.%s: not supported here; converge that container with its single-container module" % (where, key),
                                 INVALID_ARGUMENT, details={"field": "%s.%s" % (where, key)})
        result = validator.validate(item)
        no_log_values |= set(str(item[key]) for key, option in spec.items() if option.get("no_log") and item.get(key) is not None)
        if result.error_messages:
            raise LxcriError("%s: %s" % (where, "; ".join(result.error_messages)), INVALID_ARGUMENT, details={"field": where})
        validated.append(result.validated_parameters)
    return validated, no_log_values


def run_lanes(lanes: list[list[int]], converge_one: Callable[[int], dict], parallel: int) -> dict[int, dict]:
    """``converge_one(index)`` for every index of every lane; ``{index: result}``.

    An ``LxcriError`` becomes that item's failed result (its ``details``, such as ``actions``, kept);
    the items after it in its lane still run.
    """
    results: dict[int, dict] = {}

    def run_lane(lane: list[int]) -> None:
        for index in lane:
            try:
                results[index] = dict(converge_one(index), failed=False)
            except LxcriError as exc:
                failure = exc.to_result()
                failure.setdefault("actions", [])
                results[index] = dict(failure, changed=bool(failure["actions"]), failed=True)

    workers = max(1, min(parallel, len(lanes)))
    if workers == 1:
        for lane in lanes:
            run_lane(lane)
        return results
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(run_lane, lane) for lane in lanes]:
            future.result()
    return results


def summarize(names: list[str], results: dict[int, dict]) -> dict:
    """The module result: ``changed``, ``containers`` in item order, and ``failed``/``msg`` naming each failed item."""
    containers = []
    failed = []
    for index, name in enumerate(names):
        result = dict(results[index], name=name)
        containers.append(result)
        if result["failed"]:
            failed.append("%s (%s: %s)" % (name, result.get("error_kind"), result.get("msg")))
    summary = {"changed": any(item["changed"] for item in containers), "containers": containers}
    if failed:
        summary.update(failed=True, error_kind=TASK_FAILED,
                       msg="%d of %d containers failed, the others converged: %s" % (len(failed), len(containers), "; ".join(failed)))
    return summary


def refuse_duplicates(items: list[dict], identity: Callable[[dict], object], label: Callable[[dict], str], what: str) -> None:
    """Two items that name the same container would fight over it: fail naming both."""
    seen: dict = {}
    for index, item in enumerate(items):
        key = identity(item)
        if key is None:
            continue
        if key in seen:
            first = seen[key]
            raise LxcriError("containers[%d] (%s): same %s as containers[%d] (%s); declare each container once"
                             % (index, label(item), what, first, label(items[first])), INVALID_ARGUMENT,
                             details={"field": "containers[%d]" % index})
        seen[key] = index


def run_fleet(module, items: list[dict], converge_one: Callable[[dict, Callable[[str], None]], dict], label: Callable[[dict], str],
              lanes: list[list[int]] | None = None) -> dict:
    """Converge the validated ``items`` on ``module.params['parallel']`` workers; the summarised result."""
    def one(index: int) -> dict:
        name = label(items[index])
        return converge_one(items[index], lambda message: module.warn("%s: %s" % (name, message)))

    results = run_lanes(lanes if lanes is not None else [[index] for index in range(len(items))], one, module.params["parallel"])
    return summarize([label(item) for item in items], results)


def exit_fleet(module, prepare: Callable[[], tuple[list[dict], Callable, Callable, list[list[int]] | None]], extra: Callable[[], dict]) -> None:
    """The whole module: ``prepare()`` validates everything (a failure there touches nothing), then the fleet runs."""
    failure = None
    try:
        items, converge_one, label, lanes = prepare()
        summary = run_fleet(module, items, converge_one, label, lanes)
        summary.update(extra())
    except LxcriError as exc:
        failure = exc.to_result()
    # Outside the except block: ansible-core 2.19 would attach the traceback of an expected failure.
    if failure is not None:
        module.fail_json(**failure)
    if summary.get("failed"):
        summary.pop("failed")
        module.fail_json(**summary)
    module.exit_json(**summary)
