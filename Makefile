# lxcri.containers: the two commands of the README, and a few helpers.
# Everything lands in .venv (Python 3.12, ansible-core 2.21) and .work/ (the 2.19 line, the
# collection copy ansible-test needs, the built tarball, logs). Both targets are safe to re-run.

SHELL := /bin/bash
VENV := .venv
COLLECTIONS := .work/collections
DEMO_INVENTORY := inventories/demo

.PHONY: setup demo demo-clean test gates bench clean

setup:
	scripts/setup.sh

demo: setup
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) PATH=$(CURDIR)/$(VENV)/bin:$$PATH \
	  scripts/cgroup-ns.sh $(VENV)/bin/ansible-playbook -i $(DEMO_INVENTORY) playbooks/demo.yml

# Stop and remove everything the demo made (containers, pvesim, bundles).
demo-clean: setup
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) PATH=$(CURDIR)/$(VENV)/bin:$$PATH \
	  scripts/cgroup-ns.sh $(VENV)/bin/ansible-playbook -i $(DEMO_INVENTORY) playbooks/demo.yml -e demo_state=absent

test: setup
	scripts/gates.sh

# Only some gates, e.g. `make gates GATES="units molecule"` (after one `make setup`).
gates:
	GATES="$(GATES)" scripts/gates.sh

bench: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) scripts/cgroup-ns.sh scripts/bench.sh

clean:
	rm -rf .work $(VENV) tests/output
