"""Validate a technique spec completely before it is saved or run.

Every problem becomes a `FieldError` whose path points at the node and port (`nodes.animate.inputs.image`,
`nodes.speak.model`, `outputs[0].from`), so one 400 lists everything an author has to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from stamen.actions import ACTIONS
from stamen.actions import validate_params as validate_action_params
from stamen.actions.binding import slot_bounds
from stamen.errors import FieldError, InputValidation
from stamen.models.params import validate_params as validate_model_params
from stamen.techniques.spec import RESERVED_NODE_IDS, NodeSpec, Port, Source, TechniqueSpec

if TYPE_CHECKING:
    from stamen.models.base import ModelSpec
    from stamen.models.registry import ModelRegistry

MEDIA_URL_PARAMS = {"image_url": "image", "video_url": "video", "audio_url": "audio"}


def parse_spec(raw: Any) -> TechniqueSpec:
    """The spec's shape (types, required fields, unknown keys) as `InputValidation` with field paths."""
    if not isinstance(raw, dict):
        raise InputValidation.field("body", "must be an object")
    try:
        return TechniqueSpec.model_validate(raw)
    except ValidationError as exc:
        raise InputValidation.many([_shape_error(error) for error in exc.errors()]) from None


def _shape_error(error: Any) -> FieldError:
    path = ""
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("str", "list[str]") or str(part).startswith(("constrained-str", "list[constrained")):
            continue  # pydantic's union member tags
        else:
            path += f".{part}" if path else str(part)
    kind = error["type"]
    message = {"missing": "is required", "extra_forbidden": "is not an allowed field"}.get(kind)
    if message is None:
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
    return FieldError(path or "body", message)


def model_for(node: NodeSpec, models: ModelRegistry) -> ModelSpec | None:
    """The catalog entry a model node names (any model this server knows, simulated ones included)."""
    if node.model is None:
        return None
    found = models.get(node.model, test_mode=True)
    return found.spec if found is not None else None


def node_ports(node: NodeSpec, model: ModelSpec | None = None) -> tuple[dict[str, Port], dict[str, Port]]:
    """(input ports, output ports) of a node: an action's slots, or a model's prompt/URL params and output."""
    if node.action is not None:
        spec = ACTIONS[node.action]
        inputs = {
            slot.name: Port(slot.name, slot.type, slot_bounds(slot)[1] > 1, slot_bounds(slot)[0] == 0)
            for slot in spec.inputs
        }
        outputs = {slot.name: Port(slot.name, slot.type, bool(slot.multiple)) for slot in spec.outputs}
        return inputs, outputs
    kind = model.type if model is not None else node.type
    inputs = {"prompt": Port("prompt", "text", optional=node.prompt is not None)}
    for param in model.params if model is not None else ():
        if param.name in MEDIA_URL_PARAMS:
            inputs[param.name] = Port(param.name, MEDIA_URL_PARAMS[param.name], optional=not param.required)
    return inputs, {str(kind): Port(str(kind), str(kind))}


def validate_spec(raw: Any, models: ModelRegistry) -> TechniqueSpec:
    """Parse and check a spec: node kinds, params, edges (ports, types, cycles), outputs."""
    spec = parse_spec(raw)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, item in enumerate(spec.inputs):
        if item.id in seen:
            errors.append(FieldError(f"inputs[{index}].id", f"duplicate input id {item.id!r}"))
        seen.add(item.id)
    ports: dict[str, tuple[dict[str, Port], dict[str, Port]]] = {}
    for node_id, node in spec.nodes.items():
        node_errors = _check_node(node_id, node, models)
        errors += node_errors
        if not node_errors:
            ports[node_id] = node_ports(node, model_for(node, models))
    for node_id, (inputs, _) in ports.items():
        errors += _check_edges(spec, node_id, inputs, ports)
    errors += _check_outputs(spec, ports)
    if not errors:
        errors += _check_cycles(spec)
    if errors:
        raise InputValidation.many(errors)
    return spec


def _check_node(node_id: str, node: NodeSpec, models: ModelRegistry) -> list[FieldError]:
    where = f"nodes.{node_id}"
    if node_id in RESERVED_NODE_IDS:
        return [FieldError(where, f"{node_id!r} is reserved for technique inputs; rename the node")]
    if node.action is not None:
        if node.model is not None or node.type is not None or node.prompt is not None:
            return [FieldError(where, "an action node takes `action` and no `model`, `type` or `prompt`")]
        if node.action not in ACTIONS:
            return [FieldError(f"{where}.action", f"unknown action {node.action!r}; see GET /actions")]
        try:
            validate_action_params(ACTIONS[node.action], node.params)
        except InputValidation as error:
            return [FieldError(f"{where}.{e.field}", e.message) for e in error.fields]
        return []
    if node.model is None and node.type is None:
        return [FieldError(where, "needs `action: <action id>`, `model: <model id>` or `type:` (default model)")]
    if node.model is None:
        return []
    model = model_for(node, models)
    if model is None:
        known = ", ".join(s.model_id for s in models.catalog(test_mode=True)) or "none"
        return [FieldError(f"{where}.model", f"unknown model {node.model!r}; known models: {known}")]
    if node.type is not None and node.type != model.type:
        return [FieldError(f"{where}.type", f"model {model.model_id} makes {model.type}, not {node.type}")]
    try:
        validate_model_params(model.params, _literal_params(node))
    except InputValidation as error:
        return [FieldError(f"{where}.{e.field}", e.message) for e in error.fields]
    return []


def _literal_params(node: NodeSpec) -> dict[str, Any]:
    """Params written in the spec, minus the URL params an edge fills at run time."""
    return {name: value for name, value in node.params.items() if name not in node.inputs}


def _check_edges(
    spec: TechniqueSpec, node_id: str, inputs: dict[str, Port], ports: dict[str, tuple[dict, dict]]
) -> list[FieldError]:
    node = spec.nodes[node_id]
    errors: list[FieldError] = []
    for port_name in node.inputs:
        field = f"nodes.{node_id}.inputs.{port_name}"
        port = inputs.get(port_name)
        if port is None:
            names = ", ".join(inputs) or "none"
            errors.append(FieldError(field, f"is not an input of {node.describe()}; inputs: {names}"))
            continue
        references = node.references(port_name)
        if not references:
            errors.append(FieldError(field, "needs at least one reference"))
        if len(references) > 1 and not port.multiple:
            errors.append(FieldError(field, f"takes one {port.media} input, not {len(references)}"))
        for reference in references:
            problem = _reference_problem(spec, reference, port.media, ports)
            if problem:
                errors.append(FieldError(field, problem))
    for port in inputs.values():
        if not port.optional and not node.references(port.name):
            errors.append(
                FieldError(f"nodes.{node_id}.inputs.{port.name}", f"is required: bind a {port.media} output to it")
            )
    return errors


def _reference_problem(
    spec: TechniqueSpec, reference: str, media: str, ports: dict[str, tuple[dict, dict]]
) -> str | None:
    source = Source.parse(reference)
    if source is None:
        return f"{reference!r} is not a reference; write inputs.<input id> or <node id>.<output port>"
    if source.node is None:
        declared = spec.input(source.port)
        if declared is None:
            names = ", ".join(item.id for item in spec.inputs) or "none"
            return f"{reference!r}: the technique has no input {source.port!r}; inputs: {names}"
        found = declared.media
    else:
        if source.node not in spec.nodes:
            return f"{reference!r}: unknown node {source.node!r}"
        if source.node not in ports:
            return None  # that node is invalid itself; its own error says why
        outputs = ports[source.node][1]
        if source.port not in outputs:
            names = ", ".join(outputs) or "none"
            return f"{reference!r}: node {source.node} has no output {source.port!r}; outputs: {names}"
        found = outputs[source.port].media
    if found != media:
        return f"type mismatch: expects {media} but {reference} is {found}"
    return None


def _check_outputs(spec: TechniqueSpec, ports: dict[str, tuple[dict, dict]]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, output in enumerate(spec.outputs):
        if output.id in seen:
            errors.append(FieldError(f"outputs[{index}].id", f"duplicate output id {output.id!r}"))
        seen.add(output.id)
        problem = _reference_problem(spec, output.source, output.media, ports)
        if problem:
            errors.append(FieldError(f"outputs[{index}].from", problem))
    return errors


def dependencies(node: NodeSpec) -> list[tuple[str, str]]:
    """(port, upstream node id) for every edge into `node` from another node."""
    edges = []
    for port in node.inputs:
        for reference in node.references(port):
            source = Source.parse(reference)
            if source is not None and source.node is not None:
                edges.append((port, source.node))
    return edges


def _check_cycles(spec: TechniqueSpec) -> list[FieldError]:
    """A DFS over the edges; a back edge is reported on the port that closes the cycle."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(node_id: str) -> FieldError | None:
        state[node_id] = "open"
        trail.append(node_id)
        for port, upstream in dependencies(spec.nodes[node_id]):
            if state.get(upstream) == "open":
                loop = trail[trail.index(upstream):] + [upstream]
                return FieldError(
                    f"nodes.{node_id}.inputs.{port}", "creates a cycle: " + " → ".join(reversed(loop))
                )
            if upstream not in state and (found := visit(upstream)) is not None:
                return found
        trail.pop()
        state[node_id] = "done"
        return None

    for node_id in spec.nodes:
        if node_id not in state and (error := visit(node_id)) is not None:
            return [error]
    return []


def execution_order(spec: TechniqueSpec, needed: set[str] | None = None) -> list[str]:
    """Nodes in a dependency-respecting order (spec order among independent ones)."""
    order: list[str] = []
    placed: set[str] = set()

    def place(node_id: str) -> None:
        if node_id in placed:
            return
        placed.add(node_id)
        for _, upstream in dependencies(spec.nodes[node_id]):
            place(upstream)
        order.append(node_id)

    for node_id in spec.nodes:
        if needed is None or node_id in needed:
            place(node_id)
    return order


def needed_nodes(spec: TechniqueSpec) -> set[str]:
    """The nodes the declared outputs depend on (others are never executed)."""
    needed: set[str] = set()
    stack = [s.node for s in (Source.parse(o.source) for o in spec.outputs) if s is not None and s.node]
    while stack:
        node_id = stack.pop()
        if node_id in needed:
            continue
        needed.add(node_id)
        stack += [upstream for _, upstream in dependencies(spec.nodes[node_id])]
    return needed
