"""``python -m durable_agent.stack`` (``make run``): run the local stack in the foreground."""

from durable_agent.stack.supervisor import main

if __name__ == "__main__":
    main()
