"""errlog-tui's widgets: the panes and the pieces around them."""

from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.detail_pane import DetailPane
from tui.widgets.error_pane import ErrorPane
from tui.widgets.filter_bar import FilterBar
from tui.widgets.list_table import ListTable
from tui.widgets.notifications_pane import NotificationsPane
from tui.widgets.pane import Pane
from tui.widgets.pane_bar import PaneBar
from tui.widgets.patterns_pane import PatternsPane
from tui.widgets.queue_pane import QueuePane
from tui.widgets.stats_pane import StatsPane
from tui.widgets.workload_pane import WorkloadPane

# In the order of their number keys.
ALL_PANES: tuple[type[Pane], ...] = (QueuePane, DetailPane, StatsPane, PatternsPane, WorkloadPane, NotificationsPane)

__all__ = [
    "ALL_PANES",
    "ConnectionBanner",
    "DetailPane",
    "ErrorPane",
    "FilterBar",
    "ListTable",
    "NotificationsPane",
    "Pane",
    "PaneBar",
    "PatternsPane",
    "QueuePane",
    "StatsPane",
    "WorkloadPane",
]
