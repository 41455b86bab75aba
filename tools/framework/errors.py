"""The three kinds of tool failure, never mixed.

- :class:`ToolArgumentError`: the caller's (usually a model's) arguments were wrong. The message goes
  back to the model as a retry hint.
- :class:`ToolCannotHandle`: the tool cannot do this input (wrong modality, 3D to a 2D expert,
  unreadable file, weights not installed). The planner adapts: another tool, the VLM, or abstain.
- Anything else is a bug or an infrastructure failure and propagates.
"""

from __future__ import annotations


class ToolArgumentError(ValueError):
    """The arguments do not fit the tool's input model or the case (retry with a corrected call)."""


class ToolCannotHandle(RuntimeError):
    """The tool cannot process this input; nothing was changed. The planner should adapt."""


class ToolUnavailable(ToolCannotHandle):
    """The tool is not usable on this installation (missing weights or optional dependency)."""


class RegistrationError(TypeError):
    """A tool definition would fail later: missing hints or docstring, duplicate name."""
