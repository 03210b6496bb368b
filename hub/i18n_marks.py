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
    "closed": N_("已关闭"), "awaiting_manual": N_("待人工发布"),
}
PLATFORM_LABELS = {"wechat": N_("微信公众号"), "weibo": N_("微博"), "douyin": N_("抖音"), "kuaishou": N_("快手"),
                   "website": N_("网站"), "manual": N_("人工发布")}
#: What opening an account on each platform needs (the account form lists every platform, one line each).
PLATFORM_NEEDS = {
    "wechat": N_("微信公众号：AppID 与 AppSecret（公众平台“开发—基本配置”），已认证的服务号可群发"),
    "weibo": N_("微博：开放平台应用的 App Key、App Secret 与授权令牌，以及安全域名"),
    "douyin": N_("抖音：开放平台应用的 client_key、client_secret，经账号授权（OAuth）后发布视频；约每六个月需重新授权"),
    "kuaishou": N_("快手：开放平台应用的 app_id、app_secret，经账号授权（OAuth）后发布视频"),
    "website": N_("网站：本单位网站（集约化平台）的站点标识与推送签名密钥"),
    "manual": N_("人工发布（视频号、头条号、人民号等没有发布接口的平台）：填写平台名称，无需凭据；审核通过后由编辑手工发布并回填链接"),
}
MANUAL_SUFFIX = N_("（人工发布）")


def platform_text(platform: str, platform_name: str = "") -> str:
    """The zh-CN name of an account's platform (a manual-publish account: the name the admin gave it)."""
    if platform == "manual" and platform_name:
        return platform_name + MANUAL_SUFFIX
    return PLATFORM_LABELS.get(platform, platform)
# How a dispatch attempt ended (hub/dispatch: attempt outcomes), shown on the dispatch and post pages.
OUTCOME_LABELS = {
    "running": N_("进行中"), "published": N_("已发布"), "submitted": N_("已提交"), "retry": N_("稍后重试"),
    "failed": N_("失败"), "unconfirmed": N_("待核实"), "requeued": N_("重新排队"), "waiting": N_("等待平台"),
    "lost": N_("已被接管"), "refused": N_("拒绝发布"), "absent": N_("平台上没有"), "error": N_("无法核实"),
    "awaiting_manual": N_("等待人工发布"),
}
