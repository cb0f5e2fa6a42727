"""`keyless demo` against a real `keyless up` (issue 7 item 2): a role with
AliyunOSSReadOnlyAccess trusted by EAS, sample objects, a service whose instance runs keyless's own
Rust client with no configuration (`keyless sts whoami`, `keyless oss ls`: credentials from
`$ALIBABA_CLOUD_CREDENTIALS_URI`, endpoints from the platform's env), then the FAQ trust-policy
failure, the fix, and the redeploy.
"""

import os
import re
import subprocess
from pathlib import Path

FAQ = ("unable to render, error: failed to assume role for user, reason: "
       "You are not authorized to do this action. You should be authorized by RAM.")


def test_demo(keyless, ep):
    exe = os.environ.get("KEYLESS_BIN", str(Path(__file__).resolve().parents[1] / "target/debug/keyless"))
    out = subprocess.run([exe, "demo", "--data-dir", str(keyless.data_dir), "--timeout", "120"],
                         capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    # The instance's own Rust client saw the role session and the ten sample objects.
    assert re.search(rf"\"Arn\": \"acs:ram::{ep.account_id}:assumed-role/keyless-demo-reader-[0-9a-f]+/eas-", text), text[-4000:]
    assert len(re.findall(r"oss://[a-z0-9-]+/demo-[0-9a-f]+/sample-\d\d\.txt", text)) == 10, text[-4000:]
    # The FAQ failure, exactly, then the fixed redeploy.
    assert FAQ in text, text[-4000:]
    assert "status: Failed" in text and "status: Running" in text, text[-4000:]
    assert "the fixed service listed the bucket too" in text
