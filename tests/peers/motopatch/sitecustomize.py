# SPDX-License-Identifier: ISC
"""Loaded into moto_server's Python only (moto.py puts this directory on
its PYTHONPATH): make moto 5.2.1 check SigV4 signatures against the
request URI as the client sent it.

moto rebuilds the URL it verifies from werkzeug's decoded view, so a
percent-encoded '/' in a query value (ListObjectsV2 prefix=a%2Fb) or a
'+' in an S3 key (%2B) is verified as '/' or '+' and every correctly
signed request with one fails SignatureDoesNotMatch -- botocore's too.
This swaps in werkzeug's RAW_URI for the signature check only.  It
changes nothing else in moto, and a wrong signature still fails.
"""
import urllib.parse


def _patch():
    try:
        from moto.core.authorization import ActionAuthenticatorMixin
        from moto.core.responses import BaseResponse
    except ImportError:
        return
    setup = BaseResponse.setup_class
    check = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def setup_class(self, request, *a, **kw):
        env = getattr(request, "environ", None) or {}
        self._hookd_raw_uri = env.get("RAW_URI")
        return setup(self, request, *a, **kw)

    def authenticate(self, *a, **kw):
        raw = getattr(self, "_hookd_raw_uri", None)
        uri = getattr(self, "uri", None)
        if not raw or not uri:
            return check(self, *a, **kw)
        u = urllib.parse.urlsplit(uri)
        self.uri = f"{u.scheme}://{u.netloc}{raw}"
        try:
            return check(self, *a, **kw)
        finally:
            self.uri = uri

    BaseResponse.setup_class = setup_class
    ActionAuthenticatorMixin._authenticate_and_authorize_action = \
        authenticate


_patch()
