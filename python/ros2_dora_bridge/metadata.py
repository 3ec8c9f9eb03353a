"""The metadata the bridge puts on what it sends into dora, by name
(docs/arrow-mapping.md), and a check that a node missed nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Keys of the dora metadata parameters the bridge reads and writes.
ROS_TOPIC = "ros_topic"
ROS_TYPE = "ros_type"
SOURCE_TIMESTAMP_NS = "ros_source_timestamp_ns"
RECEIVED_TIMESTAMP_NS = "ros_received_timestamp_ns"
PUBLICATION_SEQUENCE_NUMBER = "ros_publication_sequence_number"
PUBLISHER_GID = "ros_publisher_gid"
PUBLISHER_NODE = "ros_publisher_node"
SOURCE_TIMESTAMPS_NS = "ros_source_timestamps_ns"
RECEIVED_TIMESTAMPS_NS = "ros_received_timestamps_ns"
PUBLICATION_SEQUENCE_NUMBERS = "ros_publication_sequence_numbers"
BRIDGE_SEQ = "bridge_seq"
BRIDGE_STREAM = "bridge_stream"
REQUEST_ID = "request_id"
GOAL_ID = "goal_id"
STATUS = "status"
ERROR = "error"
ERROR_CODE = "error_code"
ROS_TIME_NS = "ros_time_ns"
ROS_TIME_SOURCE = "ros_time_source"


def _parameters(event: Any) -> Mapping[str, Any]:
    if isinstance(event, Mapping) and "metadata" in event:
        return event["metadata"] or {}
    if isinstance(event, Mapping):
        return event
    raise TypeError(f"expected a dora event or its metadata, got {type(event).__name__}")


class Metadata:
    """A message's bridge metadata by name: `Metadata(event).ros_topic`.
    What the bridge did not set reads as None (lists as [])."""

    __slots__ = ("parameters",)

    def __init__(self, event: Any):
        self.parameters = _parameters(event)

    def _get(self, key: str) -> Any:
        return self.parameters.get(key)

    ros_topic = property(lambda self: self._get(ROS_TOPIC), doc="the ROS topic, e.g. /chatter")
    ros_type = property(lambda self: self._get(ROS_TYPE), doc="pkg/msg/Type")
    source_timestamp_ns = property(lambda self: self._get(SOURCE_TIMESTAMP_NS),
                                   doc="the publisher's source timestamp (first row)")
    received_timestamp_ns = property(lambda self: self._get(RECEIVED_TIMESTAMP_NS),
                                     doc="when the bridge's reader got it (first row)")
    publication_sequence_number = property(lambda self: self._get(PUBLICATION_SEQUENCE_NUMBER))
    publisher_gid = property(lambda self: self._get(PUBLISHER_GID), doc="publisher GID, hex")
    publisher_node = property(lambda self: self._get(PUBLISHER_NODE),
                              doc="fully qualified publishing node, when the graph knows it")
    bridge_seq = property(lambda self: self._get(BRIDGE_SEQ), doc="the bridge's number of the first row")
    bridge_stream = property(lambda self: self._get(BRIDGE_STREAM), doc="<bridge id>/<output>")
    request_id = property(lambda self: self._get(REQUEST_ID))
    goal_id = property(lambda self: self._get(GOAL_ID))
    status = property(lambda self: self._get(STATUS))
    error = property(lambda self: self._get(ERROR))
    error_code = property(lambda self: self._get(ERROR_CODE),
                          doc="a failed tf lookup's tf2 error: lookup_error, connectivity_error, ...")
    ros_time_ns = property(lambda self: self._get(ROS_TIME_NS),
                           doc="the bridge's ROS time when it took the message (sim time with use_sim_time)")
    ros_time_source = property(lambda self: self._get(ROS_TIME_SOURCE), doc="sim or system")

    @property
    def source_timestamps_ns(self) -> list[int]:
        """One source timestamp per row (a `batch:` route), else the single one."""
        return self._per_row(SOURCE_TIMESTAMPS_NS, SOURCE_TIMESTAMP_NS)

    @property
    def received_timestamps_ns(self) -> list[int]:
        return self._per_row(RECEIVED_TIMESTAMPS_NS, RECEIVED_TIMESTAMP_NS)

    @property
    def publication_sequence_numbers(self) -> list[int]:
        return self._per_row(PUBLICATION_SEQUENCE_NUMBERS, PUBLICATION_SEQUENCE_NUMBER)

    def _per_row(self, list_key: str, scalar_key: str) -> list[int]:
        if list_key in self.parameters:
            return list(self.parameters[list_key])
        scalar = self.parameters.get(scalar_key)
        return [] if scalar is None else [scalar]

    def __repr__(self) -> str:
        return f"Metadata({dict(self.parameters)!r})"


@dataclass
class StreamCount:
    """What a SequenceCheck saw of one bridge output."""

    received: int = 0
    missed: int = 0
    repeated: int = 0
    next_expected: int = 1
    gaps: list[tuple[int, int]] = field(default_factory=list)
    """Which rows went missing: (first, last) `bridge_seq` of each gap."""


@dataclass
class SequenceCheck:
    """Follows `bridge_seq` per `bridge_stream` and says what dora lost on
    the way: `check.observe(event)` returns how many rows went missing just
    before this message. Rows numbered below what was already seen count as
    `repeated` (a restarted bridge starts again at 1: that resets the stream).

    `from_start=False` starts counting at the first message seen, for a
    node that joins a running dataflow.
    """

    from_start: bool = True
    streams: dict[str, StreamCount] = field(default_factory=dict)

    def observe(self, event: Any) -> int:
        parameters = _parameters(event)
        seq, stream = parameters.get(BRIDGE_SEQ), parameters.get(BRIDGE_STREAM)
        if seq is None or stream is None:
            return 0
        value = event.get("value") if isinstance(event, Mapping) else None
        row_count = len(value) if value is not None else 1
        count = self.streams.get(stream)
        if count is None:
            count = self.streams[stream] = StreamCount(next_expected=1 if self.from_start else seq)
        count.received += row_count
        if seq == 1 and count.next_expected > 1:
            count.next_expected = 1  # the bridge restarted
        gap = seq - count.next_expected
        if gap < 0:
            count.repeated += row_count
            return 0
        if gap:
            count.missed += gap
            count.gaps.append((count.next_expected, seq - 1))
        count.next_expected = seq + row_count
        return gap

    @property
    def missed(self) -> int:
        """Rows missed over all streams."""
        return sum(c.missed for c in self.streams.values())

    @property
    def received(self) -> int:
        return sum(c.received for c in self.streams.values())
