FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# postgresql-client: backups. The PDFs (app/web/pdf.py lays them out with WeasyPrint and embeds
# the Noto CJK fonts): libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0, fonts-noto-cjk.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir .
RUN useradd --create-home yst && mkdir -p /srv/var && chown yst /srv/var
USER yst
EXPOSE 8000
# serve migrates first (alembic upgrade head), then runs uvicorn.
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "8000"]
