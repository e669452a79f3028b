"""What the audit log records: every action an event can name, as one vocabulary.

The values are the text stored in `audit_event.action` and covered by the hash chain: never rename one;
add a new member for a new kind of event."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    ACCESS_DENIED = "access_denied"
    ACTION_REFUSED = "action_refused"
    AUDIT_VERIFIED = "audit_verified"
    BATCH_ANSWER_DOWNLOADED = "batch_answer_downloaded"
    BATCH_UPLOADED = "batch_uploaded"
    CASE_COLLECTION_STARTED = "case_collection_started"
    CASE_HEALTH_WRONG = "case_health_wrong"
    CASE_LINKED = "case_linked"
    CASE_LIST_VIEWED = "case_list_viewed"
    CASE_PASSED = "case_passed"
    CASE_TAKEN = "case_taken"
    CASE_VIEWED = "case_viewed"
    CERTIFICATE_ISSUED = "certificate_issued"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_VERIFIED = "certificate_verified"
    CHANGE_LIST_VIEWED = "change_list_viewed"
    CITIZEN_CORRECTED = "citizen_corrected"
    CITIZEN_REGISTERED = "citizen_registered"
    CITIZEN_SEARCH = "citizen_search"
    CITIZEN_VIEWED = "citizen_viewed"
    CORRECTION_REQUEST_CLOSED = "correction_request_closed"
    CORRECTION_REQUESTED = "correction_requested"
    COUNTER_LOOKUP = "counter_lookup"
    COUNTER_LOOKUP_VIEWED = "counter_lookup_viewed"
    ID_NOTICE_PRINTED = "id_notice_printed"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"
    LOOKUP_NEIGHBOUR_RUN = "lookup_neighbour_run"
    LOOKUP_RATE_LIMITED = "lookup_rate_limited"
    MATCH_SPEC_APPLIED = "match_spec_applied"
    OTP_FAILED = "otp_failed"
    OTP_REQUESTED = "otp_requested"
    OTP_VERIFIED = "otp_verified"
    REGISTER_CHANGE_APPROVED = "register_change_approved"
    REGISTER_CHANGE_OUTDATED = "register_change_outdated"
    REGISTER_CHANGE_REFUSED = "register_change_refused"
    REGISTER_CHANGE_REJECTED = "register_change_rejected"
    REGISTER_CHANGE_REQUESTED = "register_change_requested"
    RESIDENT_REGISTERED = "resident_registered"
    SELF_STATUS_VIEWED = "self_status_viewed"
    STATUS_LOOKUP = "status_lookup"
    TOKEN_ISSUED = "token_issued"  # noqa: S105 - an event name, not a secret
    USER_CREATED = "user_created"
    USER_DISABLED = "user_disabled"
    USER_LIST_VIEWED = "user_list_viewed"
    USER_PASSWORD_SET = "user_password_set"  # noqa: S105 - an event name, not a secret
    USER_ROLE_CHANGED = "user_role_changed"
    VERIFICATION_CONFIRMED = "verification_confirmed"
    VERIFICATION_ESCALATED = "verification_escalated"
    VERIFICATION_LIST_VIEWED = "verification_list_viewed"
    VERIFICATION_REJECTED = "verification_rejected"
    VERIFICATION_SENT = "verification_sent"
    VERIFICATION_VIEWED = "verification_viewed"
    WORKLIST_FILTER_DELETED = "worklist_filter_deleted"
    WORKLIST_FILTER_SAVED = "worklist_filter_saved"
    DRILL_WRITE = (
        "drill.write"  # an operator's fault drill (tests/drills): a write that proves the chain holds
    )
