FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY certificates ./certificates
COPY evidence ./evidence
COPY mobile_api ./mobile_api
COPY bench ./bench
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/fieldproof fieldproof \
    && mkdir -p /var/lib/fieldproof && chown fieldproof /var/lib/fieldproof
USER fieldproof
EXPOSE 8000
CMD ["sh", "-c", "fieldproof migrate && fieldproof serve"]
