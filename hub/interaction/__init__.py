"""政民互动 (issue 16): one inbox per unit for what the public sends (WeChat, Weibo, the 留言 form,
phone, letter, 12345 transfers), due dates in working days, reviewed answers, the 咨询问答库, the
public page and monthly figures. Runbook: docs/interaction.md."""
