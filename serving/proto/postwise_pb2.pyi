from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecipientCreate(_message.Message):
    __slots__ = ("email", "name", "country", "time_zone", "locale", "attributes")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    email: str
    name: str
    country: str
    time_zone: str
    locale: str
    attributes: _struct_pb2.Struct
    def __init__(self, email: _Optional[str] = ..., name: _Optional[str] = ..., country: _Optional[str] = ..., time_zone: _Optional[str] = ..., locale: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class MessageCreate(_message.Message):
    __slots__ = ("recipient", "template_id", "template_version", "subject", "html", "variables", "campaign_type", "sending_domain", "campaign_id", "variant", "send_at", "idempotency_key")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    SENDING_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    SEND_AT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    recipient: RecipientCreate
    template_id: str
    template_version: int
    subject: str
    html: str
    variables: _struct_pb2.Struct
    campaign_type: str
    sending_domain: str
    campaign_id: str
    variant: str
    send_at: str
    idempotency_key: str
    def __init__(self, recipient: _Optional[_Union[RecipientCreate, _Mapping]] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., subject: _Optional[str] = ..., html: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., campaign_type: _Optional[str] = ..., sending_domain: _Optional[str] = ..., campaign_id: _Optional[str] = ..., variant: _Optional[str] = ..., send_at: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class MessageBatchCreate(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[MessageCreate]
    def __init__(self, messages: _Optional[_Iterable[_Union[MessageCreate, _Mapping]]] = ...) -> None: ...

class SendTimePublic(_message.Message):
    __slots__ = ("strategy", "source", "fallback", "model_version", "detail")
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    strategy: str
    source: str
    fallback: bool
    model_version: str
    detail: str
    def __init__(self, strategy: _Optional[str] = ..., source: _Optional[str] = ..., fallback: _Optional[bool] = ..., model_version: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class MessageAccepted(_message.Message):
    __slots__ = ("message_id", "status", "created", "contact_id", "region", "scheduled_at", "send_time")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    status: str
    created: bool
    contact_id: str
    region: str
    scheduled_at: str
    send_time: SendTimePublic
    def __init__(self, message_id: _Optional[str] = ..., status: _Optional[str] = ..., created: _Optional[bool] = ..., contact_id: _Optional[str] = ..., region: _Optional[str] = ..., scheduled_at: _Optional[str] = ..., send_time: _Optional[_Union[SendTimePublic, _Mapping]] = ...) -> None: ...

class BatchItemPublic(_message.Message):
    __slots__ = ("index", "outcome", "message", "code", "detail")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    index: int
    outcome: str
    message: MessageAccepted
    code: str
    detail: str
    def __init__(self, index: _Optional[int] = ..., outcome: _Optional[str] = ..., message: _Optional[_Union[MessageAccepted, _Mapping]] = ..., code: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class BatchPublic(_message.Message):
    __slots__ = ("accepted", "existing", "rejected", "results")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    existing: int
    rejected: int
    results: _containers.RepeatedCompositeFieldContainer[BatchItemPublic]
    def __init__(self, accepted: _Optional[int] = ..., existing: _Optional[int] = ..., rejected: _Optional[int] = ..., results: _Optional[_Iterable[_Union[BatchItemPublic, _Mapping]]] = ...) -> None: ...

class EventPublic(_message.Message):
    __slots__ = ("type", "event_time", "is_bot", "smtp_code", "details")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    IS_BOT_FIELD_NUMBER: _ClassVar[int]
    SMTP_CODE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    type: str
    event_time: str
    is_bot: bool
    smtp_code: int
    details: _struct_pb2.Struct
    def __init__(self, type: _Optional[str] = ..., event_time: _Optional[str] = ..., is_bot: _Optional[bool] = ..., smtp_code: _Optional[int] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class MessagePublic(_message.Message):
    __slots__ = ("message_id", "status", "campaign_type", "campaign_id", "contact_id", "region", "sending_domain", "template_id", "template_version", "variant", "scheduled_at", "created_at", "sent_at", "attempts", "last_error", "events")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SENDING_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    status: str
    campaign_type: str
    campaign_id: str
    contact_id: str
    region: str
    sending_domain: str
    template_id: str
    template_version: int
    variant: str
    scheduled_at: str
    created_at: str
    sent_at: str
    attempts: int
    last_error: str
    events: _containers.RepeatedCompositeFieldContainer[EventPublic]
    def __init__(self, message_id: _Optional[str] = ..., status: _Optional[str] = ..., campaign_type: _Optional[str] = ..., campaign_id: _Optional[str] = ..., contact_id: _Optional[str] = ..., region: _Optional[str] = ..., sending_domain: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., variant: _Optional[str] = ..., scheduled_at: _Optional[str] = ..., created_at: _Optional[str] = ..., sent_at: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., events: _Optional[_Iterable[_Union[EventPublic, _Mapping]]] = ...) -> None: ...

class ConsentPublic(_message.Message):
    __slots__ = ("channel", "purpose", "status", "policy_version", "updated_at")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    channel: str
    purpose: str
    status: str
    policy_version: str
    updated_at: str
    def __init__(self, channel: _Optional[str] = ..., purpose: _Optional[str] = ..., status: _Optional[str] = ..., policy_version: _Optional[str] = ..., updated_at: _Optional[str] = ...) -> None: ...

class ContactPublic(_message.Message):
    __slots__ = ("contact_id", "email", "name", "email_domain", "country", "region", "time_zone", "locale", "attributes", "status", "created_at", "updated_at", "consents")
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    contact_id: str
    email: str
    name: str
    email_domain: str
    country: str
    region: str
    time_zone: str
    locale: str
    attributes: _struct_pb2.Struct
    status: str
    created_at: str
    updated_at: str
    consents: _containers.RepeatedCompositeFieldContainer[ConsentPublic]
    def __init__(self, contact_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., email_domain: _Optional[str] = ..., country: _Optional[str] = ..., region: _Optional[str] = ..., time_zone: _Optional[str] = ..., locale: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., status: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., consents: _Optional[_Iterable[_Union[ConsentPublic, _Mapping]]] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("key", "blocks")
    class BlocksEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    key: str
    blocks: _containers.ScalarMap[str, str]
    def __init__(self, key: _Optional[str] = ..., blocks: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TemplateCreate(_message.Message):
    __slots__ = ("subject", "html", "text", "partials", "variants", "name")
    class PartialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PARTIALS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    subject: str
    html: str
    text: str
    partials: _containers.ScalarMap[str, str]
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    name: str
    def __init__(self, subject: _Optional[str] = ..., html: _Optional[str] = ..., text: _Optional[str] = ..., partials: _Optional[_Mapping[str, str]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., name: _Optional[str] = ...) -> None: ...

class TemplateUpdate(_message.Message):
    __slots__ = ("subject", "html", "text", "partials", "variants", "name")
    class PartialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PARTIALS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    subject: str
    html: str
    text: str
    partials: _containers.ScalarMap[str, str]
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    name: str
    def __init__(self, subject: _Optional[str] = ..., html: _Optional[str] = ..., text: _Optional[str] = ..., partials: _Optional[_Mapping[str, str]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., name: _Optional[str] = ...) -> None: ...

class PreviewRequest(_message.Message):
    __slots__ = ("variables", "version", "variant")
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    variables: _struct_pb2.Struct
    version: int
    variant: str
    def __init__(self, variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., version: _Optional[int] = ..., variant: _Optional[str] = ...) -> None: ...

class TemplateVersionPublic(_message.Message):
    __slots__ = ("version", "subject", "html", "text", "partials", "variants", "created_at")
    class PartialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PARTIALS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    version: int
    subject: str
    html: str
    text: str
    partials: _containers.ScalarMap[str, str]
    variants: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    created_at: str
    def __init__(self, version: _Optional[int] = ..., subject: _Optional[str] = ..., html: _Optional[str] = ..., text: _Optional[str] = ..., partials: _Optional[_Mapping[str, str]] = ..., variants: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., created_at: _Optional[str] = ...) -> None: ...

class TemplatePublic(_message.Message):
    __slots__ = ("template_id", "name", "latest_version", "created_at", "archived_at", "current")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_AT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    name: str
    latest_version: int
    created_at: str
    archived_at: str
    current: TemplateVersionPublic
    def __init__(self, template_id: _Optional[str] = ..., name: _Optional[str] = ..., latest_version: _Optional[int] = ..., created_at: _Optional[str] = ..., archived_at: _Optional[str] = ..., current: _Optional[_Union[TemplateVersionPublic, _Mapping]] = ...) -> None: ...

class TemplatePreview(_message.Message):
    __slots__ = ("template_id", "version", "subject", "html", "text")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    version: int
    subject: str
    html: str
    text: str
    def __init__(self, template_id: _Optional[str] = ..., version: _Optional[int] = ..., subject: _Optional[str] = ..., html: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class CampaignCreate(_message.Message):
    __slots__ = ("name", "campaign_type", "template_id", "template_version", "topic", "blocked_regions", "send_strategy", "scheduled_at", "holdout_share", "segment", "sending_domain", "fallback_channel")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_REGIONS_FIELD_NUMBER: _ClassVar[int]
    SEND_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_SHARE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SENDING_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    campaign_type: str
    template_id: str
    template_version: int
    topic: str
    blocked_regions: _containers.RepeatedScalarFieldContainer[str]
    send_strategy: str
    scheduled_at: str
    holdout_share: float
    segment: _struct_pb2.Struct
    sending_domain: str
    fallback_channel: str
    def __init__(self, name: _Optional[str] = ..., campaign_type: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., topic: _Optional[str] = ..., blocked_regions: _Optional[_Iterable[str]] = ..., send_strategy: _Optional[str] = ..., scheduled_at: _Optional[str] = ..., holdout_share: _Optional[float] = ..., segment: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., sending_domain: _Optional[str] = ..., fallback_channel: _Optional[str] = ...) -> None: ...

class CampaignUpdate(_message.Message):
    __slots__ = ("name", "campaign_type", "template_id", "template_version", "topic", "blocked_regions", "send_strategy", "scheduled_at", "holdout_share", "segment", "sending_domain", "fallback_channel")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_REGIONS_FIELD_NUMBER: _ClassVar[int]
    SEND_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_SHARE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SENDING_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    campaign_type: str
    template_id: str
    template_version: int
    topic: str
    blocked_regions: _containers.RepeatedScalarFieldContainer[str]
    send_strategy: str
    scheduled_at: str
    holdout_share: float
    segment: _struct_pb2.Struct
    sending_domain: str
    fallback_channel: str
    def __init__(self, name: _Optional[str] = ..., campaign_type: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., topic: _Optional[str] = ..., blocked_regions: _Optional[_Iterable[str]] = ..., send_strategy: _Optional[str] = ..., scheduled_at: _Optional[str] = ..., holdout_share: _Optional[float] = ..., segment: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., sending_domain: _Optional[str] = ..., fallback_channel: _Optional[str] = ...) -> None: ...

class CampaignPublic(_message.Message):
    __slots__ = ("campaign_id", "name", "campaign_type", "template_id", "template_version", "topic", "blocked_regions", "send_strategy", "scheduled_at", "holdout_share", "segment", "sending_domain", "status", "created_at", "updated_at", "sent_at", "fallback_channel")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_REGIONS_FIELD_NUMBER: _ClassVar[int]
    SEND_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_SHARE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SENDING_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    name: str
    campaign_type: str
    template_id: str
    template_version: int
    topic: str
    blocked_regions: _containers.RepeatedScalarFieldContainer[str]
    send_strategy: str
    scheduled_at: str
    holdout_share: float
    segment: _struct_pb2.Struct
    sending_domain: str
    status: str
    created_at: str
    updated_at: str
    sent_at: str
    fallback_channel: str
    def __init__(self, campaign_id: _Optional[str] = ..., name: _Optional[str] = ..., campaign_type: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., topic: _Optional[str] = ..., blocked_regions: _Optional[_Iterable[str]] = ..., send_strategy: _Optional[str] = ..., scheduled_at: _Optional[str] = ..., holdout_share: _Optional[float] = ..., segment: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., sending_domain: _Optional[str] = ..., status: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., sent_at: _Optional[str] = ..., fallback_channel: _Optional[str] = ...) -> None: ...

class ApiKeyCreate(_message.Message):
    __slots__ = ("name", "role", "public_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    public_key: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., public_key: _Optional[str] = ...) -> None: ...

class ApiKeyCreated(_message.Message):
    __slots__ = ("key_id", "api_key", "role")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    api_key: str
    role: str
    def __init__(self, key_id: _Optional[str] = ..., api_key: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class UserCreate(_message.Message):
    __slots__ = ("email", "password", "role", "display_name")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    role: str
    display_name: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., role: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class UserPublic(_message.Message):
    __slots__ = ("user_id", "email", "display_name", "role", "created_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email: str
    display_name: str
    role: str
    created_at: str
    def __init__(self, user_id: _Optional[str] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("email", "password", "org")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    ORG_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    org: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., org: _Optional[str] = ...) -> None: ...

class RefreshRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class TokenPublic(_message.Message):
    __slots__ = ("access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    refresh_expires_in: int
    def __init__(self, access_token: _Optional[str] = ..., refresh_token: _Optional[str] = ..., token_type: _Optional[str] = ..., expires_in: _Optional[int] = ..., refresh_expires_in: _Optional[int] = ...) -> None: ...

class SuppressionCreate(_message.Message):
    __slots__ = ("email", "reason", "expires_at")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    email: str
    reason: str
    expires_at: str
    def __init__(self, email: _Optional[str] = ..., reason: _Optional[str] = ..., expires_at: _Optional[str] = ...) -> None: ...

class SuppressionPublic(_message.Message):
    __slots__ = ("email_hash", "reason", "source", "created_at", "expires_at", "regions")
    EMAIL_HASH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    email_hash: str
    reason: str
    source: str
    created_at: str
    expires_at: str
    regions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, email_hash: _Optional[str] = ..., reason: _Optional[str] = ..., source: _Optional[str] = ..., created_at: _Optional[str] = ..., expires_at: _Optional[str] = ..., regions: _Optional[_Iterable[str]] = ...) -> None: ...

class SendTimeBatch(_message.Message):
    __slots__ = ("contact_ids",)
    CONTACT_IDS_FIELD_NUMBER: _ClassVar[int]
    contact_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, contact_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SendTimePrediction(_message.Message):
    __slots__ = ("contact_id", "best_hour_utc", "best_local_hour", "open_probability", "next_send_at", "source", "model_version", "fallback")
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    BEST_HOUR_UTC_FIELD_NUMBER: _ClassVar[int]
    BEST_LOCAL_HOUR_FIELD_NUMBER: _ClassVar[int]
    OPEN_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    NEXT_SEND_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    contact_id: str
    best_hour_utc: int
    best_local_hour: int
    open_probability: float
    next_send_at: str
    source: str
    model_version: str
    fallback: bool
    def __init__(self, contact_id: _Optional[str] = ..., best_hour_utc: _Optional[int] = ..., best_local_hour: _Optional[int] = ..., open_probability: _Optional[float] = ..., next_send_at: _Optional[str] = ..., source: _Optional[str] = ..., model_version: _Optional[str] = ..., fallback: _Optional[bool] = ...) -> None: ...

class SendTimeBatchPublic(_message.Message):
    __slots__ = ("results", "not_found", "degraded", "note")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SendTimePrediction]
    not_found: _containers.RepeatedScalarFieldContainer[str]
    degraded: bool
    note: str
    def __init__(self, results: _Optional[_Iterable[_Union[SendTimePrediction, _Mapping]]] = ..., not_found: _Optional[_Iterable[str]] = ..., degraded: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class PersonalizeRequest(_message.Message):
    __slots__ = ("contact_id", "variants")
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    contact_id: str
    variants: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, contact_id: _Optional[str] = ..., variants: _Optional[_Iterable[str]] = ...) -> None: ...

class PersonalizePublic(_message.Message):
    __slots__ = ("contact_id", "variant", "probability", "source", "model_version", "degraded", "note")
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    contact_id: str
    variant: str
    probability: float
    source: str
    model_version: str
    degraded: bool
    note: str
    def __init__(self, contact_id: _Optional[str] = ..., variant: _Optional[str] = ..., probability: _Optional[float] = ..., source: _Optional[str] = ..., model_version: _Optional[str] = ..., degraded: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class EndpointCreate(_message.Message):
    __slots__ = ("url", "event_types", "secret")
    URL_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    url: str
    event_types: _containers.RepeatedScalarFieldContainer[str]
    secret: str
    def __init__(self, url: _Optional[str] = ..., event_types: _Optional[_Iterable[str]] = ..., secret: _Optional[str] = ...) -> None: ...

class EndpointCreated(_message.Message):
    __slots__ = ("endpoint_id", "url", "event_types", "created_at", "disabled_at", "secret")
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DISABLED_AT_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    endpoint_id: str
    url: str
    event_types: _containers.RepeatedScalarFieldContainer[str]
    created_at: str
    disabled_at: str
    secret: str
    def __init__(self, endpoint_id: _Optional[str] = ..., url: _Optional[str] = ..., event_types: _Optional[_Iterable[str]] = ..., created_at: _Optional[str] = ..., disabled_at: _Optional[str] = ..., secret: _Optional[str] = ...) -> None: ...

class ConsentState(_message.Message):
    __slots__ = ("channel", "purpose", "status", "opt_in_steps", "steps_completed", "policy_version", "updated_at")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_STEPS_FIELD_NUMBER: _ClassVar[int]
    STEPS_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    channel: str
    purpose: str
    status: str
    opt_in_steps: int
    steps_completed: int
    policy_version: str
    updated_at: str
    def __init__(self, channel: _Optional[str] = ..., purpose: _Optional[str] = ..., status: _Optional[str] = ..., opt_in_steps: _Optional[int] = ..., steps_completed: _Optional[int] = ..., policy_version: _Optional[str] = ..., updated_at: _Optional[str] = ...) -> None: ...

class ContactPhoneUpdate(_message.Message):
    __slots__ = ("phone",)
    PHONE_FIELD_NUMBER: _ClassVar[int]
    phone: str
    def __init__(self, phone: _Optional[str] = ...) -> None: ...

class ContactPhonePublic(_message.Message):
    __slots__ = ("contact_id", "phone")
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    contact_id: str
    phone: str
    def __init__(self, contact_id: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class PreferencesUpdate(_message.Message):
    __slots__ = ("topic_opt_outs", "max_per_day", "max_per_week", "retention_until")
    TOPIC_OPT_OUTS_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_WEEK_FIELD_NUMBER: _ClassVar[int]
    RETENTION_UNTIL_FIELD_NUMBER: _ClassVar[int]
    topic_opt_outs: _containers.RepeatedScalarFieldContainer[str]
    max_per_day: int
    max_per_week: int
    retention_until: str
    def __init__(self, topic_opt_outs: _Optional[_Iterable[str]] = ..., max_per_day: _Optional[int] = ..., max_per_week: _Optional[int] = ..., retention_until: _Optional[str] = ...) -> None: ...

class PreferencesPublic(_message.Message):
    __slots__ = ("contact_id", "region", "consents", "topic_opt_outs", "max_per_day", "max_per_week", "retention_until", "preference_center_url")
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    TOPIC_OPT_OUTS_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_WEEK_FIELD_NUMBER: _ClassVar[int]
    RETENTION_UNTIL_FIELD_NUMBER: _ClassVar[int]
    PREFERENCE_CENTER_URL_FIELD_NUMBER: _ClassVar[int]
    contact_id: str
    region: str
    consents: _containers.RepeatedCompositeFieldContainer[ConsentState]
    topic_opt_outs: _containers.RepeatedScalarFieldContainer[str]
    max_per_day: int
    max_per_week: int
    retention_until: str
    preference_center_url: str
    def __init__(self, contact_id: _Optional[str] = ..., region: _Optional[str] = ..., consents: _Optional[_Iterable[_Union[ConsentState, _Mapping]]] = ..., topic_opt_outs: _Optional[_Iterable[str]] = ..., max_per_day: _Optional[int] = ..., max_per_week: _Optional[int] = ..., retention_until: _Optional[str] = ..., preference_center_url: _Optional[str] = ...) -> None: ...

class OptInStart(_message.Message):
    __slots__ = ("purpose", "channel", "source", "ip", "user_agent", "policy_version", "steps")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    purpose: str
    channel: str
    source: str
    ip: str
    user_agent: str
    policy_version: str
    steps: int
    def __init__(self, purpose: _Optional[str] = ..., channel: _Optional[str] = ..., source: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., policy_version: _Optional[str] = ..., steps: _Optional[int] = ...) -> None: ...

class OptInStarted(_message.Message):
    __slots__ = ("contact_id", "status", "opt_in_steps", "steps_completed", "confirmation_url")
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_STEPS_FIELD_NUMBER: _ClassVar[int]
    STEPS_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_URL_FIELD_NUMBER: _ClassVar[int]
    contact_id: str
    status: str
    opt_in_steps: int
    steps_completed: int
    confirmation_url: str
    def __init__(self, contact_id: _Optional[str] = ..., status: _Optional[str] = ..., opt_in_steps: _Optional[int] = ..., steps_completed: _Optional[int] = ..., confirmation_url: _Optional[str] = ...) -> None: ...

class ConsentWithdrawal(_message.Message):
    __slots__ = ("purpose", "channel", "source", "ip", "user_agent", "policy_version")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    purpose: str
    channel: str
    source: str
    ip: str
    user_agent: str
    policy_version: str
    def __init__(self, purpose: _Optional[str] = ..., channel: _Optional[str] = ..., source: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., policy_version: _Optional[str] = ...) -> None: ...

class ConsentChanged(_message.Message):
    __slots__ = ("contact_id", "channel", "purpose", "status", "changed")
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    contact_id: str
    channel: str
    purpose: str
    status: str
    changed: bool
    def __init__(self, contact_id: _Optional[str] = ..., channel: _Optional[str] = ..., purpose: _Optional[str] = ..., status: _Optional[str] = ..., changed: _Optional[bool] = ...) -> None: ...

class ErasureCreate(_message.Message):
    __slots__ = ("email",)
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    email: str
    def __init__(self, email: _Optional[str] = ...) -> None: ...

class CellErasurePublic(_message.Message):
    __slots__ = ("region", "contacts", "removed", "pseudonymized", "training_rows", "redis_keys", "audit_id")
    class RemovedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class PseudonymizedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class TrainingRowsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REGION_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    PSEUDONYMIZED_FIELD_NUMBER: _ClassVar[int]
    TRAINING_ROWS_FIELD_NUMBER: _ClassVar[int]
    REDIS_KEYS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_ID_FIELD_NUMBER: _ClassVar[int]
    region: str
    contacts: int
    removed: _containers.ScalarMap[str, int]
    pseudonymized: _containers.ScalarMap[str, int]
    training_rows: _containers.ScalarMap[str, int]
    redis_keys: int
    audit_id: int
    def __init__(self, region: _Optional[str] = ..., contacts: _Optional[int] = ..., removed: _Optional[_Mapping[str, int]] = ..., pseudonymized: _Optional[_Mapping[str, int]] = ..., training_rows: _Optional[_Mapping[str, int]] = ..., redis_keys: _Optional[int] = ..., audit_id: _Optional[int] = ...) -> None: ...

class ErasurePublic(_message.Message):
    __slots__ = ("erasure_id", "subject", "erased_at", "requested_by", "already_erased", "control_audit_id", "cells")
    ERASURE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    ALREADY_ERASED_FIELD_NUMBER: _ClassVar[int]
    CONTROL_AUDIT_ID_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    erasure_id: str
    subject: str
    erased_at: str
    requested_by: str
    already_erased: bool
    control_audit_id: int
    cells: _containers.RepeatedCompositeFieldContainer[CellErasurePublic]
    def __init__(self, erasure_id: _Optional[str] = ..., subject: _Optional[str] = ..., erased_at: _Optional[str] = ..., requested_by: _Optional[str] = ..., already_erased: _Optional[bool] = ..., control_audit_id: _Optional[int] = ..., cells: _Optional[_Iterable[_Union[CellErasurePublic, _Mapping]]] = ...) -> None: ...

class BreakGlassCreate(_message.Message):
    __slots__ = ("user_id", "role", "reason", "minutes")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    role: str
    reason: str
    minutes: int
    def __init__(self, user_id: _Optional[str] = ..., role: _Optional[str] = ..., reason: _Optional[str] = ..., minutes: _Optional[int] = ...) -> None: ...

class BreakGlassPublic(_message.Message):
    __slots__ = ("grant_id", "user_id", "role", "reason", "granted_by", "granted_at", "expires_at", "revoked_at", "revoked_by")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GRANTED_BY_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    user_id: str
    role: str
    reason: str
    granted_by: str
    granted_at: str
    expires_at: str
    revoked_at: str
    revoked_by: str
    def __init__(self, grant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., role: _Optional[str] = ..., reason: _Optional[str] = ..., granted_by: _Optional[str] = ..., granted_at: _Optional[str] = ..., expires_at: _Optional[str] = ..., revoked_at: _Optional[str] = ..., revoked_by: _Optional[str] = ...) -> None: ...

class TotpConfirm(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class WebAuthnRegistration(_message.Message):
    __slots__ = ("credential", "name")
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    credential: _struct_pb2.Struct
    name: str
    def __init__(self, credential: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class FactorPublic(_message.Message):
    __slots__ = ("kind", "factor_id", "name", "created_at", "last_used_at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    FACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    factor_id: str
    name: str
    created_at: str
    last_used_at: str
    def __init__(self, kind: _Optional[str] = ..., factor_id: _Optional[str] = ..., name: _Optional[str] = ..., created_at: _Optional[str] = ..., last_used_at: _Optional[str] = ...) -> None: ...

class MfaTicket(_message.Message):
    __slots__ = ("mfa_token",)
    MFA_TOKEN_FIELD_NUMBER: _ClassVar[int]
    mfa_token: str
    def __init__(self, mfa_token: _Optional[str] = ...) -> None: ...

class MfaTotp(_message.Message):
    __slots__ = ("mfa_token", "code")
    MFA_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    mfa_token: str
    code: str
    def __init__(self, mfa_token: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class MfaWebAuthn(_message.Message):
    __slots__ = ("mfa_token", "credential")
    MFA_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    mfa_token: str
    credential: _struct_pb2.Struct
    def __init__(self, mfa_token: _Optional[str] = ..., credential: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class PasswordChange(_message.Message):
    __slots__ = ("current_password", "new_password")
    CURRENT_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    current_password: str
    new_password: str
    def __init__(self, current_password: _Optional[str] = ..., new_password: _Optional[str] = ...) -> None: ...

class UnlockPublic(_message.Message):
    __slots__ = ("was_locked",)
    WAS_LOCKED_FIELD_NUMBER: _ClassVar[int]
    was_locked: bool
    def __init__(self, was_locked: _Optional[bool] = ...) -> None: ...

class SwitchCreate(_message.Message):
    __slots__ = ("kind", "region", "route", "sending_domain", "reason")
    KIND_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    SENDING_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    kind: str
    region: str
    route: str
    sending_domain: str
    reason: str
    def __init__(self, kind: _Optional[str] = ..., region: _Optional[str] = ..., route: _Optional[str] = ..., sending_domain: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SwitchPublic(_message.Message):
    __slots__ = ("switch_id", "kind", "scope", "region", "route", "sending_domain", "reason", "created_by", "created_at", "cleared_at", "cleared_by")
    SWITCH_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    SENDING_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CLEARED_AT_FIELD_NUMBER: _ClassVar[int]
    CLEARED_BY_FIELD_NUMBER: _ClassVar[int]
    switch_id: str
    kind: str
    scope: str
    region: str
    route: str
    sending_domain: str
    reason: str
    created_by: str
    created_at: str
    cleared_at: str
    cleared_by: str
    def __init__(self, switch_id: _Optional[str] = ..., kind: _Optional[str] = ..., scope: _Optional[str] = ..., region: _Optional[str] = ..., route: _Optional[str] = ..., sending_domain: _Optional[str] = ..., reason: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[str] = ..., cleared_at: _Optional[str] = ..., cleared_by: _Optional[str] = ...) -> None: ...
