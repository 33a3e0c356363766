"""The deployment's request slots for each budgeted service: one DynamoDB item per
service holding `tat`, the epoch time of its next free slot (GCRA's theoretical
arrival time). Reserving k slots moves it k spacings on in one conditional write, so
slots never overlap however many processes reserve at once; no read comes first.

- busy (earliest <= tat <= latest): `SET tat = tat + k*spacing`, the slots are the k before
  the new value;
- idle (no item, or tat < earliest): `SET tat = earliest + k*spacing`, the slots start
  at `earliest` (the caller's now plus the write's round trip, so a slot is not
  already past when the answer comes);
- too far ahead (tat > latest, the longest the caller may wait): TooFarAhead, nothing
  reserved.

The first write says which case it is by failing its condition with the old item
(ReturnValuesOnConditionCheckFailure=ALL_OLD). Throttling and 5xx are retried by
botocore's standard mode (tvreport.aws); what is left is raised to the caller.

Bulk sessions yield (tvreport.waves.is_bulk): every other reservation also sets `held`,
its last slot plus HOLD_GRACE_S, and a yielding one is refused (Held, nothing
reserved) while `held` lies ahead, so a light session beside a long one spends the
whole budget while it runs, and the long one takes it back within a grace after."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from tvreport import aws
from tvreport.schema import UPSTREAM_BUDGETS_PK

TAT = "tat"
HELD = "held"  # epoch seconds until which sessions that do not yield are using the service
# A holder's next reservation comes within its calls' round trip of its last slot, so the
# hold outlives the gap between two of them, and a yielding session waits this at most
# once the holder is done.
HOLD_GRACE_S = 1.0
# Another process moving the item between our condition and our write: we try again
# from the old item it shows us, which a few times always settles.
RACE_ATTEMPTS = 8
_deserializer = TypeDeserializer()


class TooFarAhead(Exception):
    """The service's next free slot is further off than the caller may wait."""

    def __init__(self, service: str, ahead_s: float) -> None:
        super().__init__(f"{service}: the next free slot is {ahead_s:.1f} s away")
        self.service, self.ahead_s = service, ahead_s


def _n(seconds: float) -> Decimal:
    """Microseconds: enough for any spacing, and exact in DynamoDB's decimal numbers."""
    return Decimal(round(seconds, 6)).quantize(Decimal("0.000001"))


def _old_item(error: ClientError) -> dict[str, Any] | None:
    """The item a failed condition returned (ALL_OLD), plain values; re-raise any other error."""
    if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
        raise error
    item = error.response.get("Item")
    if not item:
        return None
    return {name: _deserializer.deserialize(value) if isinstance(value, dict) else value
            for name, value in item.items()}


class Held(Exception):
    """Sessions that do not yield hold the service until `until` (epoch seconds)."""

    def __init__(self, service: str, until: float) -> None:
        super().__init__(f"{service}: held by other sessions until {until:.3f}")
        self.service, self.until = service, until


class BudgetBucket:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.writes = 0  # UpdateItem calls, for the writes-per-request figure

    def _update(self, **kwargs: Any) -> dict[str, Any]:
        self.writes += 1
        return aws.table(self.table_name).update_item(**kwargs)

    def reserve(self, service: str, slots: int, spacing: float, earliest: float, latest: float, *,
                holds: bool = False, yields: bool = False) -> float:
        """The first of `slots` consecutive slots (each `spacing` after the one before),
        none before `earliest`; TooFarAhead if the first would come after `latest`.
        `holds` sets the hold past these slots; `yields` raises Held instead of
        reserving while a hold lies ahead of `earliest`."""
        span, at, last = _n(slots * spacing), _n(earliest), _n(latest)
        hold = ", #held = #tat + :held_span" if holds else ""
        unheld = " AND (attribute_not_exists(#held) OR #held < :now)" if yields else ""
        names = {"#tat": TAT, **({"#held": HELD} if holds or yields else {})}
        held_span = {":held_span": span + _n(HOLD_GRACE_S)} if holds else {}
        for _ in range(RACE_ATTEMPTS):
            try:
                reply = self._update(
                    Key={UPSTREAM_BUDGETS_PK: service},
                    UpdateExpression="SET #tat = #tat + :span" + hold,
                    ConditionExpression="#tat >= :now AND #tat <= :latest" + unheld,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={":span": span, ":now": at, ":latest": last, **held_span},
                    ReturnValues="UPDATED_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return float(Decimal(reply["Attributes"][TAT]) - span)
            except ClientError as error:
                old = _old_item(error)
            if yields and old is not None and old.get(HELD) is not None and Decimal(old[HELD]) >= at:
                raise Held(service, float(old[HELD]))
            tat = None if old is None else old.get(TAT)
            if tat is not None and Decimal(tat) >= at:
                if Decimal(tat) > last:
                    raise TooFarAhead(service, float(Decimal(tat) - at))
                continue  # moved into the busy range since: append
            try:  # idle: the run starts at `earliest`
                self._update(
                    Key={UPSTREAM_BUDGETS_PK: service},
                    UpdateExpression="SET #tat = :end" + (", #held = :held_end" if holds else ""),
                    ConditionExpression="(attribute_not_exists(#tat) OR #tat < :now)" + unheld,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={":end": at + span, ":now": at,
                                               **({":held_end": at + span + _n(HOLD_GRACE_S)} if holds else {})},
                )
                return float(at)
            except ClientError as error:
                _old_item(error)  # another process started the run first (or a hold came): look again
        raise RuntimeError(f"{service}: the bucket kept moving for {RACE_ATTEMPTS} attempts")

    def push(self, service: str, until: float) -> None:
        """No slot before `until` for anyone (the service answered 429): every process
        of the deployment slows down, not only the one that was told."""
        try:
            self._update(
                Key={UPSTREAM_BUDGETS_PK: service},
                UpdateExpression="SET #tat = :until",
                ConditionExpression="attribute_not_exists(#tat) OR #tat < :until",
                ExpressionAttributeNames={"#tat": TAT},
                ExpressionAttributeValues={":until": _n(until)},
            )
        except ClientError as error:
            _old_item(error)  # already further ahead: nothing to do
