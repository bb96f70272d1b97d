"""errlog-tui's screens: the console and its dialogs."""

from tui.screens.assign_picker import AssignPicker
from tui.screens.choice import ChoiceScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.connection_info import ConnectionInfoScreen
from tui.screens.console import ConsoleScreen
from tui.screens.help import HelpScreen
from tui.screens.ignore_dialog import IgnoreDialog
from tui.screens.text_prompt import TextPrompt

ALL_SCREENS = (
    ConsoleScreen,
    AssignPicker,
    ChoiceScreen,
    ConfirmScreen,
    ConnectionInfoScreen,
    HelpScreen,
    IgnoreDialog,
    TextPrompt,
)

__all__ = [
    "ALL_SCREENS",
    "AssignPicker",
    "ChoiceScreen",
    "ConfirmScreen",
    "ConnectionInfoScreen",
    "ConsoleScreen",
    "HelpScreen",
    "IgnoreDialog",
    "TextPrompt",
]
