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
