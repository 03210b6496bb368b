"""Notifications (issue 18 part 1): the bell, and the outside channels Chinese offices use.

* ``events``: what happened → in-app items for the people concerned and deliveries through their
  unit's channels, written in the action's transaction and queued after its commit;
* ``channels``: a unit's channels (企业微信 / 钉钉 group robots, e-mail), URLs and secrets in the vault;
* ``inbox``: a person's in-app items and preferences (channels on/off, daily digest);
* ``senders``: each platform's documented robot message format, and SMTP;
* ``jobs``: delivery with retries and backoff, the sweeper, the daily digest and daily alerts.

See docs/notifications.md.
"""
