"""One botocore session per process for every AWS client (DynamoDB, S3, SES), with a quicker model loader.

Creating a client is most of a Lambda's first request (bench/coldstart.py). Botocore spends about half of it on two
things that do not change what it loads:
- before loading a service's model it lists every service it knows (some 440 folders and their versions, once for the
  service description and once for its endpoint rules, about 15 ms) only to check that the one asked for is there;
- it reads its JSON models into ``OrderedDict``s through a Python hook (about 8 ms more than plain dicts, which keep
  their order too).
``QuickLoader`` looks for the asked-for service alone and reads JSON into plain dicts: the same models, in the same
order (tests/unit/test_aws_session.py); an unknown service still raises botocore's ``UnknownServiceError``.
"""

from __future__ import annotations

import json
import os
import threading

import botocore.session
from botocore import loaders
from botocore.exceptions import DataNotFoundError

# One lock for everything made on the shared session (clients of any service, here and in infra/dynamo/connection.py):
# two threads of a first request may create the DynamoDB and the S3 client at the same instant.
lock = threading.RLock()
_session: botocore.session.Session | None = None
_boto3_session = None


class PlainJSONFileLoader(loaders.JSONFileLoader):
    """Botocore's JSON loader without ``object_pairs_hook=OrderedDict``."""

    def _load_file(self, full_path, open_method):
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as fp:
            return json.loads(fp.read().decode("utf-8"))


class QuickLoader(loaders.Loader):
    FILE_LOADER_CLASS = PlainJSONFileLoader

    @loaders.instance_cache
    def load_service_model(self, service_name, type_name, api_version=None):
        """Botocore's ``Loader.load_service_model``, checking the one service instead of listing them all."""
        try:
            if api_version is None:
                api_version = self.determine_latest_version(service_name, type_name)
            model = self.load_data(os.path.join(service_name, api_version, type_name))
        except DataNotFoundError:  # unknown service or version: botocore's own check and error
            return super().load_service_model(service_name, type_name, api_version)
        self._extras_processor.process(model, self._find_extras(service_name, type_name, api_version))
        return model


def quick_loader_fits(loader: loaders.Loader) -> bool:
    """QuickLoader relies on parts of botocore that are not its public interface (checked with the botocore pinned in
    pyproject.toml). In AWS the Lambda runtime provides botocore, whose version may differ: if any part is missing there,
    botocore's own loader serves instead, slower but sure."""
    return (callable(getattr(loaders.JSONFileLoader, "_load_file", None)) and callable(getattr(loader, "_find_extras", None))
            and callable(getattr(loader, "determine_latest_version", None)) and callable(getattr(loader, "load_data", None))
            and hasattr(getattr(loader, "_extras_processor", None), "process"))


def shared_session() -> botocore.session.Session:
    """The process's botocore session (its loader caches the models, so every client after the first is cheap)."""
    global _session
    with lock:
        if _session is None:
            session = botocore.session.get_session()
            search_path = session.get_config_variable("data_path")  # AWS_DATA_PATH, as botocore's create_loader reads it
            extra_paths = [os.path.expanduser(os.path.expandvars(p)) for p in search_path.split(os.pathsep)] if search_path else None
            loader = QuickLoader(extra_search_paths=extra_paths)
            if quick_loader_fits(loader):
                session.register_component("data_loader", loader)
            _session = session
        return _session


def boto3_client(service_name: str, **kwargs):
    """A boto3 client (S3, SES) on the shared session. Imports boto3 on first use only."""
    global _boto3_session
    import boto3.session

    with lock:
        if _boto3_session is None:
            _boto3_session = boto3.session.Session(botocore_session=shared_session())
        return _boto3_session.client(service_name, **kwargs)
