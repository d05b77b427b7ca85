"""Sends one SendSms through a provider's official SDK to URL (a fake).

    send.py aliyun|tencent URL KEY_ID SECRET SIGN_NAME
"""
import sys
from urllib.parse import urlparse

provider, url, key_id, secret, sign_name = sys.argv[1:6]
endpoint = urlparse(url).netloc

if provider == "aliyun":
    from alibabacloud_dysmsapi20170525 import models
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi import models as openapi
    from alibabacloud_tea_util import models as util

    client = Client(openapi.Config(access_key_id=key_id, access_key_secret=secret, endpoint=endpoint, protocol="http"))
    request = models.SendSmsRequest(
        phone_numbers="13800138000",
        sign_name=sign_name,
        template_code="SMS_154950909",
        template_param='{"code":"042137"}',
        out_id="sdk-check",
    )
    answer = client.send_sms_with_options(request, util.RuntimeOptions())
    assert answer.body.code == "OK", answer.body
elif provider == "tencent":
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import models, sms_client

    profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http"))
    client = sms_client.SmsClient(credential.Credential(key_id, secret), "ap-guangzhou", profile)
    request = models.SendSmsRequest()
    request.PhoneNumberSet = ["+8613800138000"]
    request.SmsSdkAppId = "1400006666"
    request.SignName = sign_name
    request.TemplateId = "449739"
    request.TemplateParamSet = ["042137", "5"]
    request.SessionContext = "sdk-check"
    answer = client.SendSms(request)
    assert answer.SendStatusSet[0].Code == "Ok", answer.to_json_string()
else:
    sys.exit(f"unknown provider {provider}")
