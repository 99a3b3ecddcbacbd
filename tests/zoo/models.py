"""Models covering every concrete field type, relations, inheritance and proxies."""

from __future__ import annotations

import uuid

from django.db import models

import eventlog
from eventlog.bulk import AuditedManager


@eventlog.register
class Keeper(models.Model):
    """UUID primary key; ``password`` and ``api_token`` are masked by name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50)
    password = models.CharField(max_length=128, blank=True, default="")
    api_token = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return self.name


class Animal(models.Model):
    """Every concrete field type (registered from settings)."""

    name = models.CharField(max_length=50)
    notes = models.TextField(blank=True, default="")
    legs = models.IntegerField(default=4)
    big = models.BigIntegerField(null=True)
    small = models.SmallIntegerField(null=True)
    positive = models.PositiveIntegerField(null=True)
    weight = models.FloatField(null=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    tame = models.BooleanField(default=False)
    vaccinated = models.BooleanField(null=True)
    born = models.DateField(null=True)
    feeding = models.TimeField(null=True)
    seen = models.DateTimeField(null=True)
    lifespan = models.DurationField(null=True)
    data = models.JSONField(null=True)
    blob = models.BinaryField(null=True)
    photo = models.FileField(upload_to="photos/", blank=True, null=True)
    ip = models.GenericIPAddressField(null=True)
    email = models.EmailField(blank=True, default="")
    slug = models.SlugField(blank=True, default="")
    url = models.URLField(blank=True, default="")
    tag = models.UUIDField(null=True)
    huge = models.PositiveBigIntegerField(null=True)
    tiny = models.PositiveSmallIntegerField(null=True)
    path = models.FilePathField(path="/tmp", blank=True, default="")
    keeper = models.ForeignKey(Keeper, null=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return self.name


class Dog(Animal):
    """Multi-table inheritance: the child's events carry the parent's fields."""

    breed = models.CharField(max_length=50)


class AnimalProxy(Animal):
    """A proxy that is not registered: logged as ``zoo.animal``."""

    class Meta:
        proxy = True


@eventlog.register
class LoudAnimal(Animal):
    """A proxy registered itself: logged as ``zoo.loudanimal``."""

    class Meta:
        proxy = True


@eventlog.register
class Badge(models.Model):
    """A small auto primary key and a one-to-one relation."""

    id = models.SmallAutoField(primary_key=True)
    animal = models.OneToOneField(Animal, on_delete=models.CASCADE, related_name="badge")
    number = models.CharField(max_length=10)


@eventlog.register
class Enclosure(models.Model):
    """A string primary key and an auto-created many-to-many."""

    code = models.CharField(max_length=10, primary_key=True)
    animals = models.ManyToManyField(Animal, related_name="enclosures", blank=True)

    def __str__(self) -> str:
        return f"enclosure {self.code}"


@eventlog.register(mask=["pin"], exclude=["scratch"])
class Secretive(models.Model):
    """``pin`` masked by option, ``scratch`` not tracked, ``secret_plan``
    masked by name."""

    pin = models.CharField(max_length=10)
    scratch = models.CharField(max_length=10, blank=True, default="")
    secret_plan = models.JSONField(null=True)
    label = models.CharField(max_length=10, blank=True, default="")


@eventlog.register
class Bulky(models.Model):
    """Bulk operations through eventlog's manager."""

    name = models.CharField(max_length=20)
    n = models.IntegerField(default=0)

    objects = AuditedManager()

    def __str__(self) -> str:
        return self.name


@eventlog.register
class Stamped(models.Model):
    """``auto_now`` and ``auto_now_add`` timestamps, and the audited manager."""

    name = models.CharField(max_length=20)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)
    touched = models.DateField(auto_now=True)

    objects = AuditedManager()


class Plain(models.Model):
    """Not registered: never logged, even through the audited manager."""

    name = models.CharField(max_length=20)
    n = models.IntegerField(default=0)

    objects = AuditedManager()


class Visitor(models.Model):
    """Not registered, with a many-to-many to a registered model: its m2m
    changes are logged from the registered side."""

    name = models.CharField(max_length=20)
    keepers = models.ManyToManyField(Keeper, related_name="visitors", blank=True)


@eventlog.register
class Memo(models.Model):
    """Long text: a ``TextField`` holds what a ``CharField`` of PostgreSQL may not."""

    title = models.CharField(max_length=20)
    body = models.TextField()


class Warden(models.Model):
    """Referenced by ``slug`` (``to_field``) as well as by its pk."""

    slug = models.SlugField(unique=True)

    def __str__(self) -> str:
        return self.slug


def _spare_warden() -> Warden:
    return Warden.objects.get(slug="spare")


@eventlog.register
class Post(models.Model):
    """Foreign keys Django's collector changes on delete, without a signal:
    ``SET_DEFAULT`` through a ``to_field``, ``SET(callable)`` and ``SET_NULL``."""

    name = models.CharField(max_length=20)
    warden = models.ForeignKey(
        Warden,
        to_field="slug",
        default="spare",
        on_delete=models.SET_DEFAULT,
        related_name="posts",
    )
    backup = models.ForeignKey(
        Warden, null=True, on_delete=models.SET(_spare_warden), related_name="backed"
    )
    keeper = models.ForeignKey(Keeper, null=True, on_delete=models.SET_NULL, related_name="posts")

    def __str__(self) -> str:
        return f"post {self.name} ({self.warden_id})"
