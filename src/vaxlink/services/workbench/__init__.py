"""The ward's workbench: cases and their actions, the register as an officer works it, new residents, requests between wards, the counter."""
