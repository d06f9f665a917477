"""The policy form of one function, built from the policy model's field specs.

Every field a function may set (faasctl_agent.policy.FUNCTION_KEYS) gets the widget its
spec calls for: a Select for choices, a Checkbox for a flag, an Input for a number or a
list, labelled with the spec's own help and bounds. So a new policy field appears here
with no change to this file. Save checks the changed fields with the model's `parse`
and returns only those; the App then asks for confirmation and applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from faasctl_agent.policy import FUNCTION_KEYS, SPECS, PolicyError, Spec, parse
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static


def field_widget(spec: Spec, value: Any) -> Widget:
    ident = f"policy-{spec.name}"
    if spec.choices:
        return Select([(c, c) for c in spec.choices], value=value, allow_blank=False, compact=True, id=ident)
    if spec.kind is bool:
        return Checkbox(spec.name, value=bool(value), compact=True, id=ident)
    if spec.kind is list:
        return Input(", ".join(value or ()), placeholder="node or KEY=VALUE, comma-separated", compact=True, id=ident)
    return Input(f"{value:g}" if isinstance(value, float) else str(value), compact=True, id=ident)


def read_widget(spec: Spec, widget: Widget) -> Any:
    if isinstance(widget, Checkbox):
        return widget.value
    if isinstance(widget, Select):
        return widget.value
    assert isinstance(widget, Input)
    if spec.kind is list:
        return [part.strip() for part in widget.value.split(",") if part.strip()]
    return widget.value.strip()


def changes(current: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The checked fields of `given` whose value differs from `current`."""
    clean = parse(given)  # raises PolicyError on a refused value
    out: dict[str, Any] = {}
    for key, value in clean.items():
        old = current.get(key, SPECS[key].default)
        if isinstance(old, tuple):
            old = list(old)
        if value != old:
            out[key] = value
    return out


class PolicyForm(ModalScreen["dict[str, Any] | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PolicyForm { align: center middle; }
    PolicyForm > VerticalScroll { width: 90; max-width: 100%; height: 100%; border: thick $primary;
                                  padding: 0 1; background: $surface; }
    PolicyForm .help { width: 100%; color: $text-muted; margin-top: 1; }
    PolicyForm Input, PolicyForm Select { width: 40; }
    PolicyForm Horizontal { height: auto; margin-top: 1; }
    PolicyForm #problem { color: $error; }
    """

    def __init__(self, name: str, policy: Mapping[str, Any]) -> None:
        super().__init__()
        self.function = name
        self.policy = dict(policy)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            for key in FUNCTION_KEYS:
                spec = SPECS[key]
                yield Label(f"[b]{key}[/b]: {escape(spec.describe())}", classes="help")
                yield field_widget(spec, self.policy.get(key, spec.default))
            yield Static("", id="problem")
            with Horizontal():
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = f"policy of {self.function} (Tab: next field, Esc cancels)"
        self.query_one(f"#policy-{FUNCTION_KEYS[0]}").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.save()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save()

    def given(self) -> dict[str, Any]:
        return {key: read_widget(SPECS[key], self.query_one(f"#policy-{key}", Widget)) for key in FUNCTION_KEYS}

    def save(self) -> None:
        try:
            changed = changes(self.policy, self.given())
        except PolicyError as exc:
            self.query_one("#problem", Static).update(escape(f"{exc.message} {exc.hint}".strip()))
            return
        self.dismiss(changed)

    def action_cancel(self) -> None:
        self.dismiss(None)
