"""``qlik:`` — how to reach Qlik Sense: certificates, identity, QRS, and the servers to monitor."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from sensebutler.config.base import Section

TagValue = str | int | float | bool


class Certificates(Section):
    """The three files the QMC's certificate export produces (PEM format)."""

    client_cert: str = ""  # client.pem
    client_key: str = ""  # client_key.pem
    ca: str = ""  # root.pem
    passphrase: SecretStr | None = None
    #: check the server's certificate against ``ca`` (Butler SOS: rejectUnauthorized)
    verify_server: bool = True
    #: Sense's server certificates name the short host name; FQDN users may need this off
    verify_hostname: bool = True


class QrsEndpoint(Section):
    host: str = ""
    port: int = Field(default=4242, ge=1, le=65535)
    timeout_s: float = Field(default=30.0, gt=0, le=600)


class ServerConfig(Section):
    """One Sense node to monitor (Butler SOS: ``serversToMonitor.servers[]``)."""

    name: str = Field(min_length=1)
    host: str = Field(min_length=1)
    description: str = ""
    engine_port: int = Field(default=4747, ge=1, le=65535)
    proxy_port: int = Field(default=4243, ge=1, le=65535)
    #: poll this node's proxy session API
    sessions: bool = True
    virtual_proxies: list[str] = ["/"]
    tags: dict[str, TagValue] = {}
    headers: dict[str, str] = {}

    @model_validator(mode="after")
    def _normalise_virtual_proxies(self) -> ServerConfig:
        self.virtual_proxies = ["/" + vp.strip("/") if vp.strip("/") else "/" for vp in self.virtual_proxies]
        return self


class QlikConfig(Section):
    certificates: Certificates = Certificates()
    #: ``X-Qlik-User`` sent to QRS (the identity QRS calls run as)
    user_header: str = "UserDirectory=INTERNAL; UserId=sa_repository"
    qrs: QrsEndpoint = QrsEndpoint()
    about_port: int = Field(default=9032, ge=1, le=65535)
    #: tag names every server must carry (Butler SOS: ``serverTagsDefinition``)
    server_tags: list[str] = []
    servers: list[ServerConfig] = []

    @model_validator(mode="after")
    def _check_servers(self) -> QlikConfig:
        names = [s.name for s in self.servers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"server names must be unique; repeated: {', '.join(duplicates)}")
        declared = set(self.server_tags)
        for server in self.servers:
            missing = declared - server.tags.keys()
            extra = server.tags.keys() - declared
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"lacks tag(s) {', '.join(sorted(missing))} listed in qlik.server_tags")
                if extra:
                    parts.append(f"has tag(s) {', '.join(sorted(extra))} not listed in qlik.server_tags")
                raise ValueError(f"server {server.name!r} " + " and ".join(parts))
        return self
