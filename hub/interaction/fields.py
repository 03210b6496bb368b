"""Field registry (个人信息字段登记): every field the interaction area stores about a sender, why it
exists, where it is kept and when it goes. Nothing else about a sender is stored; nothing of it is
written to logs or audit details (audit entries name the message by id only).

Not stored: the 留言 form's sender address and browser (the audit entry of a form message records
neither); the rate limit keeps a counter keyed by the client address in Redis for at most an hour.

tests/interaction/test_personal_data_and_form.py checks that every column of the interaction tables is
listed here, so a new field cannot be added without saying why.
"""

from __future__ import annotations

#: (table, column) -> why it exists. ``sealed`` fields live only in interaction_contacts, encrypted
#: with the vault (AES-GCM data key wrapped by the master key, as credentials are).
REGISTRY: dict[str, dict[str, str]] = {
    "interaction_messages": {
        "id": "identifies the message",
        "unit_id": "the unit whose inbox holds the message (the unit handling it now)",
        "account_id": "the account the message came to (WeChat, Weibo); the answer goes back through it",
        "channel": "where the message came from: wechat, weibo, form, phone, letter, transfer",
        "external_key": "the platform's message id (WeChat MsgId, Weibo comment id): a repeated delivery is one message",
        "thread_ref": "the Weibo status the comment is on (needed to reply); not personal",
        "text": "the question as received: staff must read it to answer; may contain what the sender wrote about themself",
        "public_text": "the question with phone numbers, ID numbers and names masked, for the public page",
        "received_at": "留言时间 (a required public field) and the start of the 5-working-day deadline",
        "due_on": "the deadline: 5 working days after receipt",
        "warn_on": "3 working days after receipt: the handler is warned",
        "status": "where the message is in its handling",
        "assignee_id": "the named handler (a staff member, not the sender)",
        "forwarded_from_id": "the unit that forwarded the message here",
        "forward_note": "the forwarding unit's note to the receiving unit",
        "auto_answered": "answered automatically from the 咨询问答库",
        "qa_entry_id": "which 问答库 entry answered it",
        "answer_text": "答复内容 (a required public field): the approved answer as sent",
        "answered_at": "答复时间 (a required public field)",
        "answer_unit_id": "答复单位 (a required public field)",
        "delivered_via": "how the answer reached the sender: wechat (customer-service message), weibo (reply), page",
        "close_reason": "why it was closed: answered, auto_answered, spam, abuse",
        "close_note": "staff's note when closing as spam or abuse",
        "closed_at": "when handling ended; the retention period of the contact data counts from here",
        "warned_at": "the due-date warning was given",
        "escalated_at": "the overdue escalation was raised",
        "contact_erased_at": "when the sealed contact data was erased (retention period over)",
        "created_by_id": "the staff member who recorded a phone call, letter or 12345 transfer",
        "created_at": "when the hub stored it",
    },
    "interaction_contacts": {
        "id": "identifies the sealed value",
        "message_id": "the message the contact data belongs to",
        "account_id": "the vault's subject id (the message id), bound into the encryption",
        "field": "which contact field, as contact:<field>: name, phone (form, phone calls), openid (WeChat: to send the answer), "
                 "weibo_uid (Weibo sender)",
        "version": "the vault's version number of the value (always 1: contact data is never edited)",
        "key_version": "which master key wraps the data key",
        "wrapped_key": "the data key, wrapped",
        "ciphertext": "the value, encrypted",
        "created_at": "when it was stored",
    },
}

#: Contact fields, sealed in interaction_contacts: field -> why it is collected.
CONTACT_FIELDS: dict[str, str] = {
    "name": "optional on the 留言 form and for phone calls: how to address the answer; never shown",
    "phone": "optional on the 留言 form and for phone calls: a call back if the answer needs one; never shown",
    "openid": "the WeChat follower's id for this account: the customer-service message goes to it",
    "weibo_uid": "the Weibo user who commented: kept only to know whom the reply answers",
}
