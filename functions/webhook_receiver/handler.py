"""The one webhook receiver, `POST /webhooks/{platform}/{channel}`: checks the channel's credentials, archives,
enqueues what the channel's connector reads from the body, quarantines what it cannot read."""

from functions.kit import webhook_hop

lambda_handler = webhook_hop()
