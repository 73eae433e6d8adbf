import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { ComboboxOption } from '../components/matchOptions.ts';
import type { Department } from '../config/consoleConfig.ts';
import { useConsoleConfig, useUnknownCodeNotice } from '../config/ConfigContext.tsx';

/** A department's name in the console's language: Korean, or English when English is chosen. */
export function departmentLabel(department: Department, language: string): string {
  return language === 'en' ? department.name.en : department.name.ko;
}

/** A department code's form (contracts' DepartmentCode): free text of old visits ("내과", "IM") is not one. */
const departmentCode = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * The hospital's departments as the console shows them, in its current language: the options
 * the desk chooses from (the code is the value; found by code, either name or an alias), and the
 * name of a visit's department. A visit carries the code; one registered before the departments
 * had codes carries free text, shown as it is. A code the catalog lacks (added since the console
 * loaded) is shown as it is too, and asks for the catalog again.
 */
export function useDepartments(): {
  options: readonly ComboboxOption[];
  defaultDepartment: string | null;
  name: (department: string | undefined) => string;
} {
  const { departments, defaultDepartment } = useConsoleConfig();
  const noticeUnknown = useUnknownCodeNotice();
  const { i18n } = useTranslation();
  const language = i18n.language;
  return useMemo(() => {
    const byCode = new Map(departments.map((department) => [department.code, department]));
    return {
      options: departments.map((department) => ({
        value: department.code,
        label: departmentLabel(department, language),
        terms: [department.code, department.name.ko, department.name.en, ...(department.aliases ?? [])],
      })),
      defaultDepartment,
      name: (department) => {
        if (department === undefined) return '';
        const known = byCode.get(department);
        if (known) return departmentLabel(known, language);
        if (departmentCode.test(department)) noticeUnknown(department);
        return department;
      },
    };
  }, [departments, defaultDepartment, language, noticeUnknown]);
}
