-- AlterTable
ALTER TABLE "DeployRun" ADD COLUMN     "instanceId" TEXT;

-- CreateTable
CREATE TABLE "ApiInstance" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApiInstance_pkey" PRIMARY KEY ("id")
);
