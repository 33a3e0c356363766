"""Sandbox outside services on loopback: Gandalf (GraphQL), TMDB (JSON) and Rotten
Tomatoes (HTML), fed by a bundled catalogue of real TV series and viewer profiles,
with fault knobs, and a Gandalf Connect stand-in page. `Sandbox` starts them all."""
from __future__ import annotations

from datetime import date
from typing import Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from local.lifecycle import StartStop
from local.sandbox.catalogue import Catalogue, default_catalogue, load_catalogue
from local.sandbox.connect import ConnectSandbox, fresh_data_key
from local.sandbox.faults import Faults
from local.sandbox.gandalf import GandalfSandbox
from local.sandbox.rottentomatoes import RottenTomatoesSandbox
from local.sandbox.server import SandboxServer
from local.sandbox.tmdb import TmdbSandbox
from local.sandbox.viewers import VIEWER_PROFILES, build_viewer, build_viewers, viewer_from_netflix_csv

__all__ = [
    "Catalogue",
    "ConnectSandbox",
    "Faults",
    "GandalfSandbox",
    "RottenTomatoesSandbox",
    "Sandbox",
    "SandboxServer",
    "TmdbSandbox",
    "VIEWER_PROFILES",
    "build_viewer",
    "build_viewers",
    "default_catalogue",
    "load_catalogue",
    "viewer_from_netflix_csv",
]

SERVICES = ("gandalf", "tmdb", "rottentomatoes")
DEFAULT_TMDB_API_KEY = "sandbox-tmdb-key"


def generate_gandalf_key() -> tuple[str, bytes]:
    """A fresh secp256k1 key pair: (private key as hex, public key PEM)."""
    private_key = ec.generate_private_key(ec.SECP256K1())
    private_hex = f"{private_key.private_numbers().private_value:064x}"
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_hex, public_pem


def _compressed_public_key(public_key_pem: bytes) -> str:
    """The app's public key as a Connect URL carries it (`0x` + compressed point)."""
    public_key = serialization.load_pem_public_key(public_key_pem)
    point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return "0x" + point.hex()


class Sandbox(StartStop):
    """The three sandbox services, started together.

    `faults_by_service` is one Faults for all, or {"gandalf"|"tmdb"|"rottentomatoes":
    Faults}. Without `gandalf_public_key_pem` a key pair is generated and its private
    half is `gandalf_private_key_hex` (for the app under test to sign with). Viewers
    default to the built-in profiles ("light", "typical", "heavy") ending `today`."""

    def __init__(
        self,
        faults_by_service: dict[str, Faults] | Faults | None = None,
        gandalf_public_key_pem: bytes | None = None,
        tmdb_api_key: str = DEFAULT_TMDB_API_KEY,
        viewers: dict[str, list[dict]] | None = None,
        today: date | None = None,
        catalogue: Catalogue | None = None,
    ) -> None:
        faults = self._faults_per_service(faults_by_service)
        self.catalogue = catalogue or default_catalogue()
        self.gandalf_private_key_hex: str | None = None
        if gandalf_public_key_pem is None:
            self.gandalf_private_key_hex, gandalf_public_key_pem = generate_gandalf_key()
        self.tmdb_api_key = tmdb_api_key
        if viewers is None:
            viewers = build_viewers(today or date.today(), self.catalogue)
        self.gandalf = GandalfSandbox(viewers, gandalf_public_key_pem, faults["gandalf"])
        self._profile_histories = {name: viewers[name] for name in VIEWER_PROFILES if name in viewers}
        self.connect = ConnectSandbox(_compressed_public_key(gandalf_public_key_pem),
                                      list(self._profile_histories), self._link_viewer)
        self.tmdb = TmdbSandbox(self.catalogue, faults["tmdb"], api_key=tmdb_api_key)
        self.rotten_tomatoes = RottenTomatoesSandbox(self.catalogue, faults["rottentomatoes"])

    @staticmethod
    def _faults_per_service(faults: dict[str, Faults] | Faults | None) -> dict[str, Faults]:
        if faults is None or isinstance(faults, Faults):
            return {service: faults or Faults() for service in SERVICES}
        unknown = set(faults) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown sandbox services {sorted(unknown)}; expected {SERVICES}")
        return {service: faults.get(service, Faults()) for service in SERVICES}

    @property
    def servers(self) -> dict[str, SandboxServer]:
        return {"gandalf": self.gandalf, "tmdb": self.tmdb, "rottentomatoes": self.rotten_tomatoes,
                "connect": self.connect}

    @property
    def gandalf_url(self) -> str:
        """Full URL of the GraphQL endpoint (…/public/gql)."""
        return self.gandalf.gql_url

    @property
    def tmdb_url(self) -> str:
        """TMDB base URL, without /3."""
        return self.tmdb.url

    @property
    def rotten_tomatoes_url(self) -> str:
        return self.rotten_tomatoes.url

    @property
    def connect_url(self) -> str:
        """Base URL of the Gandalf Connect stand-in (the deploy option gandalf_connect_url)."""
        return self.connect.url

    def register_viewer(self, data_key: str, activities: list[dict]) -> None:
        self.gandalf.register_viewer(data_key, activities)

    def _link_viewer(self, profile: str) -> str:
        """Connect "linked" a viewer: their history under a fresh dataKey, as Gandalf issues one."""
        data_key = fresh_data_key()
        self.gandalf.register_viewer(data_key, self._profile_histories[profile])
        return data_key

    def start(self) -> Self:
        started: list[SandboxServer] = []
        try:
            for server in self.servers.values():
                started.append(server.start())
        except Exception:
            for server in started:
                server.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def stats(self) -> dict[str, dict[str, dict[str, int]]]:
        """{service: {"requests": {endpoint: n}, "faults": {kind: n}}}."""
        return {service: server.stats() for service, server in self.servers.items()}
