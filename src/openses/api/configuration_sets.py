"""Configuration sets and their event destinations, SES v1 and v2: translate, then the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.core.configuration_sets import V1_TYPES, V2_TO_V1, ConfigurationSetService
from openses.errors import TrackingOptionsAlreadyExists, TrackingOptionsDoesNotExist

_V2_OPTIONS = ("TrackingOptions", "DeliveryOptions", "ReputationOptions", "SendingOptions", "SuppressionOptions",
               "VdmOptions", "ArchivingOptions")


def _service(ctx: RequestContext) -> ConfigurationSetService:
    return ConfigurationSetService(ctx.services.store, ctx.services.directory)


def _page(names: list[str], token: str | None, size: int | None) -> tuple[list[str], str | None]:
    """Names after `token` (the last name of the previous page), at most `size` of them."""
    rest = [n for n in names if token is None or n > token]
    size = size or 1000
    return rest[:size], (rest[size - 1] if len(rest) > size else None)


def _ts(value: Any) -> Any:
    return dt.datetime.fromtimestamp(value, dt.timezone.utc) if isinstance(value, (int, float)) else value


def _v2_view(options: dict[str, Any]) -> dict[str, Any]:
    out = {"DeliveryOptions": {"TlsPolicy": "OPTIONAL"}, "ReputationOptions": {"ReputationMetricsEnabled": False},
           "SendingOptions": {"SendingEnabled": True}}
    for key in _V2_OPTIONS:
        if key in options:
            out[key] = {**out.get(key, {}), **options[key]}
    if "LastFreshStart" in out["ReputationOptions"]:
        out["ReputationOptions"]["LastFreshStart"] = _ts(out["ReputationOptions"]["LastFreshStart"])
    return out


# --- SES v2 -----------------------------------------------------------------------------------

@operation("sesv2", "CreateConfigurationSet")
async def create_configuration_set_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    options = {k: params[k] for k in _V2_OPTIONS if params.get(k) is not None}
    await _service(ctx).create(ctx.account_id, params["ConfigurationSetName"], options, params.get("Tags"))
    return {}


@operation("sesv2", "GetConfigurationSet")
async def get_configuration_set_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    row = await _service(ctx).get(ctx.account_id, params["ConfigurationSetName"])
    return {"ConfigurationSetName": row["name"], **_v2_view(row["options"]), "Tags": row["tags"] or []}


@operation("sesv2", "ListConfigurationSets")
async def list_configuration_sets_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    names, token = _page(await _service(ctx).names(ctx.account_id), params.get("NextToken"), params.get("PageSize"))
    return {"ConfigurationSets": names, **({"NextToken": token} if token else {})}


@operation("sesv2", "DeleteConfigurationSet")
async def delete_configuration_set_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).delete(ctx.account_id, params["ConfigurationSetName"])
    return {}


def _put(option: str, fields: tuple[str, ...], *, merge: bool = False) -> None:
    """Register PutConfigurationSet<option>: the request's fields become the option group."""
    async def handler(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        value = {k: params[k] for k in fields if params.get(k) is not None}
        svc = _service(ctx)
        if merge:
            await svc.merge_option(ctx.account_id, params["ConfigurationSetName"], option, value)
        else:
            await svc.put_option(ctx.account_id, params["ConfigurationSetName"], option, value)
        return {}

    operation("sesv2", f"PutConfigurationSet{option}")(handler)


_put("DeliveryOptions", ("TlsPolicy", "SendingPoolName", "MaxDeliverySeconds"))
_put("ReputationOptions", ("ReputationMetricsEnabled",), merge=True)
_put("SendingOptions", ("SendingEnabled",))
_put("SuppressionOptions", ("SuppressedReasons",))
_put("TrackingOptions", ("CustomRedirectDomain", "HttpsPolicy"))
_put("VdmOptions", ("DashboardOptions", "GuardianOptions"))
_put("ArchivingOptions", ("ArchiveArn",))


@operation("sesv2", "CreateConfigurationSetEventDestination")
async def create_event_destination_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).add_destination(ctx.account_id, params["ConfigurationSetName"],
                                        params["EventDestinationName"], params["EventDestination"])
    return {}


@operation("sesv2", "UpdateConfigurationSetEventDestination")
async def update_event_destination_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).update_destination(ctx.account_id, params["ConfigurationSetName"],
                                           params["EventDestinationName"], params["EventDestination"])
    return {}


@operation("sesv2", "DeleteConfigurationSetEventDestination")
async def delete_event_destination_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).delete_destination(ctx.account_id, params["ConfigurationSetName"],
                                           params["EventDestinationName"])
    return {}


@operation("sesv2", "GetConfigurationSetEventDestinations")
async def get_event_destinations_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = await _service(ctx).destinations(ctx.account_id, params["ConfigurationSetName"])
    return {"EventDestinations": [{"Name": r["name"], "Enabled": r["enabled"], "MatchingEventTypes": r["event_types"],
                                   **r["destination"]} for r in rows]}


# --- SES v1 -----------------------------------------------------------------------------------

def _v1_definition(dest: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Enabled": dest.get("Enabled", False),
                           "MatchingEventTypes": [V1_TYPES.get(t, t) for t in dest.get("MatchingEventTypes") or []]}
    for kind in ("KinesisFirehoseDestination", "CloudWatchDestination"):
        if dest.get(kind):
            out[kind] = dest[kind]
    if dest.get("SNSDestination"):
        out["SnsDestination"] = {"TopicArn": dest["SNSDestination"]["TopicARN"]}
    return out


def _v1_destination(row: dict[str, Any]) -> dict[str, Any]:
    return {"Name": row["name"], "Enabled": row["enabled"],
            "MatchingEventTypes": [V2_TO_V1.get(t, t) for t in row["event_types"]],
            "SNSDestination": {"TopicARN": row["destination"]["SnsDestination"]["TopicArn"]}}


@operation("ses", "CreateConfigurationSet")
async def create_configuration_set_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).create(ctx.account_id, params["ConfigurationSet"]["Name"], {})
    return {}


@operation("ses", "DeleteConfigurationSet")
async def delete_configuration_set_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).delete(ctx.account_id, params["ConfigurationSetName"])
    return {}


@operation("ses", "ListConfigurationSets")
async def list_configuration_sets_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    names, token = _page(await _service(ctx).names(ctx.account_id), params.get("NextToken"), params.get("MaxItems"))
    return {"ConfigurationSets": [{"Name": n} for n in names], **({"NextToken": token} if token else {})}


@operation("ses", "DescribeConfigurationSet")
async def describe_configuration_set_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    svc = _service(ctx)
    row = await svc.get(ctx.account_id, params["ConfigurationSetName"])
    wanted, options = set(params.get("ConfigurationSetAttributeNames") or []), row["options"]
    out: dict[str, Any] = {"ConfigurationSet": {"Name": row["name"]}}
    if "eventDestinations" in wanted:
        out["EventDestinations"] = [_v1_destination(r) for r in await svc.destinations(ctx.account_id, row["name"])]
    if "trackingOptions" in wanted and "TrackingOptions" in options:
        domain = options["TrackingOptions"].get("CustomRedirectDomain")
        out["TrackingOptions"] = {"CustomRedirectDomain": domain} if domain else {}
    if "deliveryOptions" in wanted:
        out["DeliveryOptions"] = {"TlsPolicy": options.get("DeliveryOptions", {}).get("TlsPolicy", "Optional")}
    if "reputationOptions" in wanted:
        view = _v2_view(options)
        out["ReputationOptions"] = {"SendingEnabled": view["SendingOptions"]["SendingEnabled"],
                                    "ReputationMetricsEnabled": view["ReputationOptions"]["ReputationMetricsEnabled"]}
        if view["ReputationOptions"].get("LastFreshStart"):
            out["ReputationOptions"]["LastFreshStart"] = view["ReputationOptions"]["LastFreshStart"]
    return out


@operation("ses", "CreateConfigurationSetEventDestination")
async def create_event_destination_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    dest = params["EventDestination"]
    await _service(ctx).add_destination(ctx.account_id, params["ConfigurationSetName"], dest["Name"],
                                        _v1_definition(dest))
    return {}


@operation("ses", "UpdateConfigurationSetEventDestination")
async def update_event_destination_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    dest = params["EventDestination"]
    await _service(ctx).update_destination(ctx.account_id, params["ConfigurationSetName"], dest["Name"],
                                           _v1_definition(dest))
    return {}


@operation("ses", "DeleteConfigurationSetEventDestination")
async def delete_event_destination_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).delete_destination(ctx.account_id, params["ConfigurationSetName"],
                                           params["EventDestinationName"])
    return {}


@operation("ses", "UpdateConfigurationSetSendingEnabled")
async def update_sending_enabled_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).put_option(ctx.account_id, params["ConfigurationSetName"], "SendingOptions",
                                   {"SendingEnabled": bool(params.get("Enabled"))})
    return {}


@operation("ses", "UpdateConfigurationSetReputationMetricsEnabled")
async def update_reputation_metrics_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).merge_option(ctx.account_id, params["ConfigurationSetName"], "ReputationOptions",
                                     {"ReputationMetricsEnabled": bool(params.get("Enabled"))})
    return {}


@operation("ses", "PutConfigurationSetDeliveryOptions")
async def put_delivery_options_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tls = (params.get("DeliveryOptions") or {}).get("TlsPolicy", "Optional")
    await _service(ctx).merge_option(ctx.account_id, params["ConfigurationSetName"], "DeliveryOptions",
                                     {"TlsPolicy": tls.upper()})
    return {}


async def _tracking(ctx: RequestContext, params: dict[str, Any], *, exists: bool | None) -> None:
    svc = _service(ctx)
    row = await svc.get(ctx.account_id, params["ConfigurationSetName"])
    has = "TrackingOptions" in row["options"]  # v1 may create them empty (no CustomRedirectDomain)
    if exists is False and has:
        raise TrackingOptionsAlreadyExists(f"Configuration set <{row['name']}> already has tracking options.")
    if exists is True and not has:
        raise TrackingOptionsDoesNotExist(f"Configuration set <{row['name']}> has no tracking options.")
    value = params.get("TrackingOptions")
    await svc.put_option(ctx.account_id, row["name"], "TrackingOptions", value if value is not None else None)


@operation("ses", "CreateConfigurationSetTrackingOptions")
async def create_tracking_options_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _tracking(ctx, {**params, "TrackingOptions": params.get("TrackingOptions") or {}}, exists=False)
    return {}


@operation("ses", "UpdateConfigurationSetTrackingOptions")
async def update_tracking_options_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _tracking(ctx, params, exists=True)
    return {}


@operation("ses", "DeleteConfigurationSetTrackingOptions")
async def delete_tracking_options_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _tracking(ctx, {**params, "TrackingOptions": None}, exists=True)
    return {}
