#!/bin/sh
# The image's entrypoint. No arguments: migrate the database (unless MIGRATE_ON_START is
# 0/false/no), then run the bot (`python -m bot`). A `python -m bot` command (worker,
# migrate, backup PATH, ...) or an option (--help) runs that command, without migrating
# first. Anything else (sh, python ...) runs as given.
set -eu

case "${1:-}" in
    "")
        case "${MIGRATE_ON_START:-1}" in
            0 | false | False | FALSE | no | No | NO | off) ;;
            *) python -m bot migrate ;;
        esac
        exec python -m bot
        ;;
    -* | migrate | worker | reconcile | audit-chats | backup | restore | export | verify-record | help)
        exec python -m bot "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
