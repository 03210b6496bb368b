"""``N_``: marks a string for the translation catalog where it is defined (label tables);
it is translated where it is shown, with ``_()``. The label tables every area shows are here."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


STATUS_LABELS = {
    "draft": N_("草稿"), "in_review": N_("审核中"), "approved": N_("已通过"), "publishing": N_("发布中"),
    "published": N_("已发布"), "partially_published": N_("部分发布"), "failed": N_("发布失败"),
    "rejected": N_("已退回"), "withdrawn": N_("已撤稿"), "pending": N_("待发送"), "sending": N_("发送中"),
    "unconfirmed": N_("待核实"), "cancelled": N_("已取消"), "active": N_("启用"), "suspended": N_("暂停"),
    "closed": N_("已关闭"),
}
PLATFORM_LABELS = {"wechat": N_("微信公众号"), "weibo": N_("微博"), "douyin": N_("抖音"), "website": N_("网站")}
# How a dispatch attempt ended (hub/dispatch: attempt outcomes), shown on the dispatch and post pages.
OUTCOME_LABELS = {
    "running": N_("进行中"), "published": N_("已发布"), "submitted": N_("已提交"), "retry": N_("稍后重试"),
    "failed": N_("失败"), "unconfirmed": N_("待核实"), "requeued": N_("重新排队"), "waiting": N_("等待平台"),
    "lost": N_("已被接管"), "refused": N_("拒绝发布"), "absent": N_("平台上没有"), "error": N_("无法核实"),
}
